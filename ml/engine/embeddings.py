"""A bounded LRU of SAM image embeddings, per worker process (by entry count and by bytes)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class Embedding:
    """What ``SAM2ImagePredictor.set_image`` computes for one picture."""

    features: dict[str, Any]
    orig_hw: tuple[int, int]
    nbytes: int


def tensor_bytes(value: Any) -> int:
    if isinstance(value, torch.Tensor):
        return value.element_size() * value.nelement()
    if isinstance(value, dict):
        return sum(tensor_bytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(tensor_bytes(v) for v in value)
    return 0


class EmbeddingCache:
    """Thread-safe LRU: the least recently used embeddings go first when either bound is passed."""

    def __init__(self, max_items: int, max_bytes: int):
        self.max_items = max(1, max_items)
        self.max_bytes = max(1, max_bytes)
        self._items: OrderedDict[Hashable, Embedding] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Embedding | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: Hashable, entry: Embedding) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._items[key] = entry
            self._bytes += entry.nbytes
            # Keep at least the newest entry even if it alone passes the byte bound.
            while len(self._items) > 1 and (len(self._items) > self.max_items or self._bytes > self.max_bytes):
                _, evicted = self._items.popitem(last=False)
                self._bytes -= evicted.nbytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    @property
    def nbytes(self) -> int:
        return self._bytes

    def stats(self) -> dict[str, int]:
        return {
            "items": len(self._items),
            "bytes": self._bytes,
            "max_items": self.max_items,
            "max_bytes": self.max_bytes,
            "hits": self.hits,
            "misses": self.misses,
        }
