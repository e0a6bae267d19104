"""Organizations' TorchScript models: loading, the I/O contract per kind, and result images.

The contract (docs/ml.md has the full text):

* input, every kind: ``float32 [1, 3, H, W]`` — RGB resized to the registered input size,
  ``x = (rgb / 255 - mean) / std`` per channel;
* detection → ``{"boxes": [N, 4], "scores": [N], "labels": [N]}`` or the tuple
  ``(boxes, scores, labels)`` (a one-element list of that dict is accepted too, as
  torchvision detectors return); boxes are ``x1, y1, x2, y2`` in pixels of the model input;
* segmentation → ``[1, C, H', W']`` (or ``[C, H', W']``) class scores; the class of a pixel is
  the argmax (``C == 1``: sigmoid > 0.5 is class 1, else 0); each connected region of a class
  that is in the label map is one object;
* classification → ``[1, C]`` (or ``[C]``) class scores; the top class is the one object.

Scores are logits (softmax/sigmoid applied here) unless the model says ``outputs_logits=False``.
"""

from __future__ import annotations

import io
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import torch
from django.conf import settings
from django.core.files.storage import default_storage

from annotations.geometry import mask_bbox, mask_to_polygons, rle_encode
from ml.engine.devices import configure_torch, resolve_device


class ContractError(ValueError):
    """The model's output does not follow the I/O contract of its kind."""


@dataclass
class Found:
    """One object a model found on an image (pixel coordinates of the original image)."""

    label_index: int
    label: str
    score: float
    box: tuple[float, float, float, float] | None = None  # x, y, w, h
    polygons: list[dict] = field(default_factory=list)
    rle: dict | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label_index": self.label_index, "label": self.label, "score": round(self.score, 6)}
        if self.box is not None:
            out["box"] = [round(v, 3) for v in self.box]
        if self.polygons:
            out["polygons"] = self.polygons
        if self.rle is not None:
            out["rle"] = self.rle
        return out


@dataclass
class Inference:
    found: list[Found]
    seconds: float
    width: int
    height: int
    mask: np.ndarray | None = None  # segmentation: class index per pixel (original size)


_loaded: OrderedDict[tuple[int, str], tuple[torch.jit.ScriptModule, torch.device]] = OrderedDict()
_loaded_lock = threading.Lock()


def load_model(model) -> tuple[torch.jit.ScriptModule, torch.device]:
    """The TorchScript module of an ``InferenceModel`` row, kept loaded (LRU of ML_LOADED_MODELS)."""
    key = (model.pk, model.sha256)
    with _loaded_lock:
        if key in _loaded:
            _loaded.move_to_end(key)
            return _loaded[key]
    device = resolve_device()
    configure_torch(device)
    with default_storage.open(model.file, "rb") as handle:
        buffer = io.BytesIO(handle.read())
    module = torch.jit.load(buffer, map_location=device)
    module.eval()
    with _loaded_lock:
        _loaded[key] = (module, device)
        while len(_loaded) > max(1, settings.ML_LOADED_MODELS):
            _loaded.popitem(last=False)
    return module, device


def forget_loaded_models() -> None:
    with _loaded_lock:
        _loaded.clear()


def preprocess(rgb: np.ndarray, model) -> torch.Tensor:
    resized = cv2.resize(rgb, (model.input_width, model.input_height), interpolation=cv2.INTER_LINEAR)
    array = resized.astype(np.float32) / 255.0
    mean = np.asarray(model.mean, dtype=np.float32)
    std = np.asarray(model.std, dtype=np.float32)
    array = (array - mean) / std
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None]


def infer(model, rgb: np.ndarray, min_score: float | None = None) -> Inference:
    """Run a registered model on one RGB ``uint8 (H, W, 3)`` image and read its output.

    Objects scoring below ``min_score`` (default: the model's ``score_threshold``) are dropped.
    """
    module, device = load_model(model)
    height, width = rgb.shape[:2]
    started = time.perf_counter()
    tensor = preprocess(rgb, model).to(device)
    with torch.inference_mode():
        output = module(tensor)
    threshold = model.score_threshold if min_score is None else min_score
    if model.kind == "detection":
        found, mask = _read_detection(model, output, width, height, threshold), None
    elif model.kind == "segmentation":
        found, mask = _read_segmentation(model, output, width, height, threshold)
    elif model.kind == "classification":
        found, mask = _read_classification(model, output, threshold), None
    else:  # pragma: no cover - the model field's choices exclude it
        raise ContractError(f"Unknown model kind {model.kind!r}")
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return Inference(found=found, seconds=time.perf_counter() - started, width=width, height=height, mask=mask)


def check_contract(model) -> str:
    """Load the model and run a blank input through it; '' when the output follows the contract."""
    try:
        blank = np.zeros((model.input_height, model.input_width, 3), dtype=np.uint8)
        infer(model, blank)
    except ContractError as exc:
        return str(exc)
    except Exception as exc:
        return f"The model could not run on a [1, 3, {model.input_height}, {model.input_width}] input: {exc}"
    return ""


def _as_tensor(value: Any, name: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise ContractError(f"Detection output {name!r} must be a tensor, got {type(value).__name__}.")
    return value.detach().float().cpu()


def _read_detection(model, output: Any, width: int, height: int, threshold: float) -> list[Found]:
    if isinstance(output, (list, tuple)) and len(output) == 1 and isinstance(output[0], dict):
        output = output[0]
    if isinstance(output, dict):
        missing = {"boxes", "scores", "labels"} - set(output)
        if missing:
            raise ContractError(f"Detection output dict lacks {sorted(missing)}; return boxes, scores and labels.")
        boxes, scores, labels = output["boxes"], output["scores"], output["labels"]
    elif isinstance(output, (list, tuple)) and len(output) == 3:
        boxes, scores, labels = output
    else:
        raise ContractError(
            "A detection model returns {'boxes': [N,4], 'scores': [N], 'labels': [N]} or (boxes, scores, labels)."
        )
    boxes, scores, labels = _as_tensor(boxes, "boxes"), _as_tensor(scores, "scores"), _as_tensor(labels, "labels")
    if boxes.dim() == 3 and boxes.shape[0] == 1:  # a batch of one
        boxes, scores, labels = boxes[0], scores.reshape(-1), labels.reshape(-1)
    if boxes.dim() != 2 or boxes.shape[-1] != 4:
        raise ContractError(f"Detection boxes must be [N, 4] (x1, y1, x2, y2), got {list(boxes.shape)}.")
    scores, labels = scores.reshape(-1), labels.reshape(-1)
    if not (len(scores) == len(labels) == len(boxes)):
        raise ContractError(
            f"Detection outputs disagree on N: boxes {len(boxes)}, scores {len(scores)}, labels {len(labels)}."
        )
    sx, sy = width / model.input_width, height / model.input_height
    found = []
    for box, score, label in zip(boxes.tolist(), scores.tolist(), labels.tolist(), strict=True):
        if score < threshold:
            continue
        x1, y1, x2, y2 = box
        x1, x2 = sorted((min(max(x1 * sx, 0.0), width), min(max(x2 * sx, 0.0), width)))
        y1, y2 = sorted((min(max(y1 * sy, 0.0), height), min(max(y2 * sy, 0.0), height)))
        index = int(label)
        found.append(Found(index, model.label_name(index), float(score), box=(x1, y1, x2 - x1, y2 - y1)))
    found.sort(key=lambda f: -f.score)
    return found


def _class_scores(model, output: Any, expected_dims: tuple[int, ...], what: str) -> torch.Tensor:
    if isinstance(output, dict) and "out" in output:  # torchvision segmentation models
        output = output["out"]
    if isinstance(output, (list, tuple)) and len(output) == 1:
        output = output[0]
    if not isinstance(output, torch.Tensor):
        raise ContractError(f"A {what} model returns a tensor of class scores, got {type(output).__name__}.")
    scores = output.detach().float().cpu()
    if scores.dim() == max(expected_dims) and scores.shape[0] == 1:
        scores = scores[0]
    if scores.dim() != min(expected_dims):
        shapes = " or ".join(f"{d}-D" for d in expected_dims)
        raise ContractError(f"A {what} model returns {shapes} class scores, got shape {list(output.shape)}.")
    return scores


def _read_classification(model, output: Any, threshold: float) -> list[Found]:
    logits = _class_scores(model, output, (1, 2), "classification")
    probs = torch.softmax(logits, dim=0) if model.outputs_logits else logits
    index = int(torch.argmax(probs))
    score = float(probs[index])
    if score < threshold:
        return []
    return [Found(index, model.label_name(index), score)]


def _read_segmentation(model, output: Any, width: int, height: int, threshold: float) -> tuple[list[Found], np.ndarray]:
    scores = _class_scores(model, output, (3, 4), "segmentation")
    if scores.shape[0] == 1:
        fg = torch.sigmoid(scores[0]) if model.outputs_logits else scores[0]
        classes = (fg > 0.5).to(torch.uint8)
        confidence = torch.where(classes.bool(), fg, 1 - fg)
    else:
        probs = torch.softmax(scores, dim=0) if model.outputs_logits else scores
        confidence, classes = probs.max(dim=0)
    classes_np = cv2.resize(classes.numpy().astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST)
    confidence_np = cv2.resize(confidence.numpy().astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    mapped = {int(entry["index"]) for entry in model.label_map}
    found: list[Found] = []
    for index in sorted(int(v) for v in np.unique(classes_np)):
        if index not in mapped:
            continue  # background and classes the label map leaves out
        count, regions = cv2.connectedComponents((classes_np == index).astype(np.uint8), connectivity=8)
        for region in range(1, count):
            mask = regions == region
            score = float(confidence_np[mask].mean())
            if score < threshold:
                continue
            found.append(
                Found(
                    index,
                    model.label_name(index),
                    score,
                    box=mask_bbox(mask),
                    polygons=mask_to_polygons(mask),
                    rle=rle_encode(mask),
                )
            )
    found.sort(key=lambda f: -f.score)
    return found, classes_np


# --- result images ---------------------------------------------------------------------------
def _colour(index: int) -> tuple[int, int, int]:
    hue = (index * 47) % 180
    hsv = np.uint8([[[hue, 200, 255]]])
    r, g, b = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]
    return int(r), int(g), int(b)


def render_result(rgb: np.ndarray, inference: Inference, kind: str) -> bytes:
    """The image with what was found drawn on it (JPEG bytes): boxes, masks or the class."""
    canvas = rgb.copy()
    if inference.mask is not None:
        overlay = canvas.copy()
        for found in inference.found:
            overlay[inference.mask == found.label_index] = _colour(found.label_index)
        canvas = cv2.addWeighted(overlay, 0.45, canvas, 0.55, 0)
    thickness = max(1, round(min(canvas.shape[:2]) / 300))
    for found in inference.found:
        colour = _colour(found.label_index)
        text = f"{found.label} {found.score:.2f}"
        if found.box is not None:
            x, y, w, h = found.box
            cv2.rectangle(canvas, (round(x), round(y)), (round(x + w), round(y + h)), colour, thickness)
            origin = (round(x), max(12, round(y) - 3))
        else:
            origin = (6, 20)
        cv2.putText(canvas, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
    if kind == "classification" and not inference.found:
        cv2.putText(canvas, "no class above threshold", (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 0, 0), 1)
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:  # pragma: no cover - JPEG encoding of a uint8 image does not fail
        raise RuntimeError("could not encode the result image")
    return encoded.tobytes()
