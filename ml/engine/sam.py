"""SAM 2.1 in the worker: loading the weights, click/box → masks, and video propagation.

One ``SamEngine`` per worker process holds the model (built once from ``SAM2_CONFIG`` and
``SAM2_CHECKPOINT`` on ``ML_DEVICE``), an LRU of image embeddings and one
``SAM2ImagePredictor`` per worker thread (the predictor keeps per-image state, so threads
never share one; they share the weights and the embedding cache).

The same weights serve both paths: ``build_sam2_video_predictor`` builds a ``SAM2Base``
subclass, and ``SAM2ImagePredictor`` only calls the base model's image encoder and heads.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# The video predictor reports progress with tqdm; ours goes to the job instead.
os.environ.setdefault("TQDM_DISABLE", "1")

import numpy as np
import torch
from django.conf import settings
from PIL import Image

from ml.engine.devices import autocast, configure_torch, resolve_device
from ml.engine.embeddings import Embedding, EmbeddingCache, tensor_bytes
from ml.sam_config import CONFIGURE_HELP, SamUnavailable, config_name, sam_configured

_IMG_MEAN = (0.485, 0.456, 0.406)
_IMG_STD = (0.229, 0.224, 0.225)


_fingerprints: dict[tuple[str, int, float], str] = {}


def checkpoint_fingerprint(path: str) -> str:
    """First 12 hex digits of the checkpoint's SHA-256 (cached by path, size and mtime)."""
    stat = os.stat(path)
    key = (path, stat.st_size, stat.st_mtime)
    if key not in _fingerprints:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _fingerprints[key] = digest.hexdigest()[:12]
    return _fingerprints[key]


@dataclass
class MaskResult:
    mask: np.ndarray  # bool (H, W)
    score: float


class FrameTensors:
    """The frames of one task as the video predictor wants them, decoded on demand.

    ``inference_state["images"]`` only needs ``len()`` and indexing; each item is a
    normalized float tensor (3, S, S), resized exactly like sam2's own JPEG loader (PIL
    bicubic). Pictures come from our media layer (never re-encoded) in chunks read
    sequentially — forward, or backward when the predictor walks back — and only one chunk
    is held, so a long video never sits in memory.
    """

    def __init__(
        self,
        read_run: Callable[[int, int], Iterable[tuple[int, np.ndarray]]],
        count: int,
        image_size: int,
        chunk: int = 16,
    ):
        self._read_run = read_run
        self._count = count
        self._size = image_size
        self._chunk = max(1, chunk)
        self._pictures: dict[int, np.ndarray] = {}
        self._last: int | None = None
        self._mean = torch.tensor(_IMG_MEAN, dtype=torch.float32)[:, None, None]
        self._std = torch.tensor(_IMG_STD, dtype=torch.float32)[:, None, None]

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> torch.Tensor:
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        if index not in self._pictures:
            if self._last is not None and index < self._last:  # walking backward
                start, stop = max(0, index - self._chunk + 1), index + 1
            else:
                start, stop = index, min(self._count, index + self._chunk)
            self._pictures = dict(self._read_run(start, stop))
        self._last = index
        return self.to_tensor(self._pictures[index])

    def to_tensor(self, rgb: np.ndarray) -> torch.Tensor:
        resized = np.asarray(Image.fromarray(rgb).convert("RGB").resize((self._size, self._size)))
        tensor = torch.from_numpy(resized / 255.0).permute(2, 0, 1).float()
        return (tensor - self._mean) / self._std


class SamEngine:
    def __init__(self, *, config: str, checkpoint: str, device: torch.device):
        from sam2.build_sam import build_sam2_video_predictor

        self.config = config
        self.checkpoint = checkpoint
        self.device = device
        configure_torch(device)
        if not Path(checkpoint).is_file():
            raise SamUnavailable(f"SAM2_CHECKPOINT={checkpoint!r} is not a file on this ML worker. " + CONFIGURE_HELP)
        self.model_version = f"{Path(config).stem}@{checkpoint_fingerprint(checkpoint)}"
        try:
            # build_* default to device="cuda": always pass ours.
            self.model = build_sam2_video_predictor(config, checkpoint, device=str(device))
        except Exception as exc:
            raise SamUnavailable(f"Could not load SAM 2.1 ({config}, {checkpoint}): {exc}") from exc
        # No compiled _C extension: hole filling would call it (the hydra override doesn't stick).
        self.model.fill_hole_area = 0
        self.embeddings = EmbeddingCache(
            settings.ML_EMBEDDING_CACHE_ITEMS, settings.ML_EMBEDDING_CACHE_MB * 1024 * 1024
        )
        self._local = threading.local()

    # --- image / frame ---------------------------------------------------------------------
    def image_predictor(self):
        predictor = getattr(self._local, "predictor", None)
        if predictor is None:
            from sam2.sam2_image_predictor import SAM2ImagePredictor

            predictor = SAM2ImagePredictor(self.model)
            self._local.predictor = predictor
        return predictor

    def embed(self, key, load_image: Callable[[], np.ndarray]) -> tuple[Embedding, bool]:
        """The image embedding for ``key`` (media + frame), computed once; (embedding, was_cached)."""
        full_key = (key, self.model_version)
        cached = self.embeddings.get(full_key)
        if cached is not None:
            return cached, True
        image = load_image()
        predictor = self.image_predictor()
        with autocast(self.device):
            predictor.set_image(image)
        entry = Embedding(
            features=predictor._features,
            orig_hw=tuple(predictor._orig_hw[0]),
            nbytes=tensor_bytes(predictor._features),
        )
        self.embeddings.put(full_key, entry)
        return entry, False

    def predict(
        self,
        embedding: Embedding,
        *,
        points: np.ndarray | None = None,
        point_labels: np.ndarray | None = None,
        box: np.ndarray | None = None,
        multimask_output: bool = True,
    ) -> list[MaskResult]:
        """Masks for the prompts on an embedded picture, best score first."""
        predictor = self.image_predictor()
        predictor._features = embedding.features
        predictor._orig_hw = [embedding.orig_hw]
        predictor._is_image_set = True
        predictor._is_batch = False
        with autocast(self.device):
            masks, scores, _ = predictor.predict(
                point_coords=points,
                point_labels=point_labels,
                box=box,
                multimask_output=multimask_output,
            )
        if masks.ndim == 4:  # several boxes: (B, C, H, W); we ask one mask per box
            masks, scores = masks[:, 0], scores[:, 0]
        order = np.argsort(-np.asarray(scores).reshape(-1))
        return [MaskResult(mask=masks[i] > 0, score=float(np.asarray(scores).reshape(-1)[i])) for i in order]

    def predict_boxes(self, embedding: Embedding, boxes: np.ndarray) -> list[MaskResult]:
        """One mask per box (xyxy pixels), in the boxes' order."""
        if len(boxes) == 0:
            return []
        predictor = self.image_predictor()
        predictor._features = embedding.features
        predictor._orig_hw = [embedding.orig_hw]
        predictor._is_image_set = True
        predictor._is_batch = False
        with autocast(self.device):
            masks, scores, _ = predictor.predict(box=np.asarray(boxes, dtype=np.float32), multimask_output=False)
        masks = masks.reshape(len(boxes), -1, *masks.shape[-2:])[:, 0]
        scores = np.asarray(scores).reshape(len(boxes), -1)[:, 0]
        return [MaskResult(mask=masks[i] > 0, score=float(scores[i])) for i in range(len(boxes))]

    # --- video / series --------------------------------------------------------------------
    def propagate(
        self,
        *,
        frames: FrameTensors,
        height: int,
        width: int,
        reference_frame: int,
        prompts: dict[int, dict[int, np.ndarray]],
        start_frame: int,
        end_frame: int,
    ) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        """Track objects from their masks and yield ``(frame_index, {obj_id: bool mask})``.

        ``prompts`` is ``{frame_index: {obj_id: mask}}``; it must include the reference frame.
        Frames after the reference (up to ``end_frame``) are visited forward, then frames
        before it (down to ``start_frame``) backward; each frame is yielded once, prompt
        frames included (their output is the prompt mask).
        """
        model = self.model
        state = _new_inference_state(model, frames, height, width, self.device)
        # Memory frames and object pointers further than this are never read again.
        keep = max(int(model.num_maskmem), int(getattr(model, "max_obj_ptrs_in_encoder", 16))) + 1
        with autocast(self.device):
            for frame_index in sorted(prompts):
                for obj_id, mask in prompts[frame_index].items():
                    model.add_new_mask(state, frame_index, obj_id, mask.astype(bool))
        seen: set[int] = set()
        passes = []
        if end_frame > reference_frame:
            passes.append((False, end_frame - reference_frame))
        if start_frame < reference_frame:
            passes.append((True, reference_frame - start_frame))
        for reverse, count in passes:
            steps = model.propagate_in_video(
                state, start_frame_idx=reference_frame, max_frame_num_to_track=count, reverse=reverse
            )
            while True:
                with autocast(self.device):
                    try:
                        frame_index, obj_ids, video_masks = next(steps)
                    except StopIteration:
                        break
                    masks = (video_masks[:, 0] > 0.0).cpu().numpy()
                _forget_far_frames(state, frame_index, reference_frame, keep)
                if frame_index in seen:
                    continue
                seen.add(frame_index)
                yield frame_index, {int(obj_id): masks[i] for i, obj_id in enumerate(obj_ids)}


def _new_inference_state(model, images, height: int, width: int, device: torch.device) -> dict:
    """``SAM2VideoPredictor.init_state`` (sam2 1.1.0) for frames we already decoded.

    The same keys, without reading a JPEG folder and without warming frame 0's features
    (the first prompt frame computes its own).
    """
    return {
        "images": images,
        "num_frames": len(images),
        "offload_video_to_cpu": True,
        "offload_state_to_cpu": False,
        "video_height": height,
        "video_width": width,
        "device": device,
        "storage_device": device,
        "point_inputs_per_obj": {},
        "mask_inputs_per_obj": {},
        "cached_features": {},
        "constants": {},
        "obj_id_to_idx": OrderedDict(),
        "obj_idx_to_id": OrderedDict(),
        "obj_ids": [],
        "output_dict_per_obj": {},
        "temp_output_dict_per_obj": {},
        "frames_tracked_per_obj": {},
    }


def _forget_far_frames(state: dict, current: int, reference: int, keep: int) -> None:
    """Drop tracking outputs no later step reads (bounded memory on long videos)."""
    for outputs in state["output_dict_per_obj"].values():
        non_cond = outputs["non_cond_frame_outputs"]
        for t in [t for t in non_cond if abs(t - current) > keep and abs(t - reference) > keep]:
            del non_cond[t]


_engine: SamEngine | None = None
_engine_lock = threading.Lock()


def get_engine() -> SamEngine:
    """The worker's SAM engine for the current settings (loaded on first use)."""
    global _engine
    if not sam_configured():
        raise SamUnavailable(CONFIGURE_HELP)
    config = config_name()
    checkpoint = str(settings.SAM2_CHECKPOINT)
    device = resolve_device()
    engine = _engine
    if engine is not None and (engine.config, engine.checkpoint, engine.device) == (config, checkpoint, device):
        return engine
    with _engine_lock:
        engine = _engine
        if engine is None or (engine.config, engine.checkpoint, engine.device) != (config, checkpoint, device):
            engine = SamEngine(config=config, checkpoint=checkpoint, device=device)
            _engine = engine
    return engine
