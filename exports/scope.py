"""What an export covers: the scope, the annotation sources, the dataset split.

A scope is a plain dict (stored on the Export) whose filters combine:

* ``batch_id`` — one batch; ``statuses`` — task statuses (e.g. only reviewed/completed);
  ``task_ids`` — listed tasks;
* ``frame_start`` / ``frame_end`` — a frame range, 1-based and inclusive, within each task;
* ``task_id`` + ``frame`` — the current frame (1-based);
* ``sources`` — annotation sources to include; raw ``ai`` candidates only when listed;
* ``annotated_only`` — leave out frames without any exported shape;
* ``split`` — ``{"mode": "ratio", "train": 0.8, "val": 0.1, "test": 0.1, "seed": 0}`` (per
  task, deterministic for a seed) or ``{"mode": "tag"}`` (tasks tagged ``train`` / ``val`` /
  ``test``; untagged tasks go to ``untagged``: ``train`` by default, or ``skip``).

Everything named by id is looked up in the caller's organization (a foreign id is "not
found").
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from django.core.exceptions import ValidationError

from annotations.models import Source
from tasks.models import TaskStatus

DEFAULT_SOURCES = [Source.MANUAL, Source.AI_ACCEPTED, Source.PROPAGATED, Source.IMPORTED]
SCOPE_KEYS = {
    "batch_id",
    "statuses",
    "task_ids",
    "frame_start",
    "frame_end",
    "task_id",
    "frame",
    "sources",
    "annotated_only",
    "split",
}
SPLIT_NAMES = ("train", "val", "test")


def _int(errors: dict, key: str, value: Any, minimum: int = 1) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or value > 2**62:
        errors.setdefault(key, []).append(f"Must be an integer ≥ {minimum}, got {value!r}.")
        return None
    return value


def normalize_scope(scope: dict | None) -> dict:
    """Validate and fill defaults; raises ``ValidationError`` keyed ``scope.<field>``."""
    scope = dict(scope or {})
    errors: dict[str, list[str]] = {}
    for key in set(scope) - SCOPE_KEYS:
        errors[key] = [f"Unknown scope field. Allowed: {', '.join(sorted(SCOPE_KEYS))}."]
    clean: dict[str, Any] = {}
    clean["batch_id"] = _int(errors, "batch_id", scope.get("batch_id"))
    statuses = scope.get("statuses") or []
    if not isinstance(statuses, list) or any(s not in TaskStatus.values for s in statuses):
        errors["statuses"] = [f"Use task statuses from: {', '.join(TaskStatus.values)}."]
    clean["statuses"] = sorted(set(statuses)) if isinstance(statuses, list) else []
    task_ids = scope.get("task_ids") or []
    if not isinstance(task_ids, list) or len(task_ids) > 10_000:
        errors["task_ids"] = ["Give a list of at most 10,000 task ids."]
        task_ids = []
    clean["task_ids"] = [i for i in (_int(errors, "task_ids", v) for v in task_ids) if i is not None]
    clean["frame_start"] = _int(errors, "frame_start", scope.get("frame_start"))
    clean["frame_end"] = _int(errors, "frame_end", scope.get("frame_end"))
    if clean["frame_start"] and clean["frame_end"] and clean["frame_start"] > clean["frame_end"]:
        errors["frame_end"] = ["frame_end must not be before frame_start (frames are 1-based, inclusive)."]
    clean["task_id"] = _int(errors, "task_id", scope.get("task_id"))
    clean["frame"] = _int(errors, "frame", scope.get("frame"))
    if (clean["task_id"] is None) != (clean["frame"] is None) and "frame" in scope:
        errors["frame"] = ["The current frame needs both task_id and frame (1-based)."]
    sources = scope.get("sources")
    if sources is None:
        sources = list(DEFAULT_SOURCES)
    if not isinstance(sources, list) or not sources or any(s not in Source.values for s in sources):
        errors["sources"] = [f"Give a non-empty list of sources from: {', '.join(Source.values)}."]
        sources = list(DEFAULT_SOURCES)
    clean["sources"] = sorted(set(sources))
    clean["annotated_only"] = bool(scope.get("annotated_only", False))
    clean["split"] = _normalize_split(scope.get("split"), errors)
    if errors:
        raise ValidationError({f"scope.{key}": value for key, value in errors.items()})
    return {key: value for key, value in clean.items() if value not in (None, [], False) or key == "sources"}


def _normalize_split(split: Any, errors: dict) -> dict | None:
    if split in (None, {}, "none"):
        return None
    if not isinstance(split, dict) or split.get("mode") not in ("ratio", "tag"):
        errors["split"] = [
            'Use {"mode": "ratio", "train": 0.8, "val": 0.1, "test": 0.1, "seed": 0} or {"mode": "tag"}.'
        ]
        return None
    if split["mode"] == "tag":
        untagged = split.get("untagged", "train")
        if untagged not in (*SPLIT_NAMES, "skip") or set(split) - {"mode", "untagged"}:
            errors["split"] = ['A tag split takes only "untagged": train, val, test or skip.']
            return None
        return {"mode": "tag", "untagged": untagged}
    if set(split) - {"mode", "seed", *SPLIT_NAMES}:
        errors["split"] = ["A ratio split takes train, val, test (fractions) and seed."]
        return None
    ratios = {}
    for name in SPLIT_NAMES:
        value = split.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            errors["split"] = [f"{name} must be a fraction ≥ 0."]
            return None
        ratios[name] = float(value)
    if not math.isclose(sum(ratios.values()), 1.0, abs_tol=1e-6):
        errors["split"] = [f"train + val + test must add up to 1, got {sum(ratios.values()):g}."]
        return None
    seed = split.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        errors["split"] = ["seed must be an integer."]
        return None
    return {"mode": "ratio", **ratios, "seed": seed}


def split_names(split: dict | None) -> list[str]:
    """The subsets an export writes, in order (empty: no split)."""
    if not split:
        return []
    if split["mode"] == "tag":
        return list(SPLIT_NAMES)
    return [name for name in SPLIT_NAMES if split.get(name, 0) > 0]


def split_for_task(split: dict | None, task_id: int, tag_names: set[str]) -> str | None:
    """The subset of a task ("" without a split, None to leave the task out).

    Ratio splits assign whole tasks (a video never straddles train and test), by a hash of
    (seed, task id): stable across runs and independent of the other tasks.
    """
    if not split:
        return ""
    if split["mode"] == "tag":
        for name in SPLIT_NAMES:
            if name in tag_names:
                return name
        return None if split["untagged"] == "skip" else split["untagged"]
    digest = hashlib.sha256(f"{split['seed']}:{task_id}".encode()).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64
    cumulative = 0.0
    for name in SPLIT_NAMES:
        cumulative += split.get(name, 0.0)
        if draw < cumulative:
            return name
    return split_names(split)[-1]


def describe_scope(scope: dict) -> str:
    """One line for lists: 'batch 3, status completed, frames 10-20'."""
    parts = []
    if scope.get("task_id") and scope.get("frame"):
        parts.append(f"task {scope['task_id']} frame {scope['frame']}")
    if scope.get("batch_id"):
        parts.append(f"batch {scope['batch_id']}")
    if scope.get("statuses"):
        parts.append("status " + "/".join(scope["statuses"]))
    if scope.get("task_ids"):
        parts.append(f"{len(scope['task_ids'])} task(s)")
    if scope.get("frame_start") or scope.get("frame_end"):
        parts.append(f"frames {scope.get('frame_start') or 1}-{scope.get('frame_end') or 'end'}")
    if scope.get("split"):
        parts.append(f"split by {scope['split']['mode']}")
    return ", ".join(parts) or "whole project"
