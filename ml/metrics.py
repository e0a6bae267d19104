"""Evaluation metrics: COCOeval (pycocotools) for mAP, matching and the confusion matrix.

Nothing here counts matches by hand: AP comes from ``COCOeval.accumulate``; true/false
positives at the chosen IoU and confidence from ``COCOeval.evaluateImg``'s matches; the
confusion matrix from a class-agnostic ``COCOeval`` (``useCats=0``) pairing each prediction
with the ground truth it overlaps.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

BACKGROUND = "background"


@dataclass
class ImageShapes:
    """One evaluated picture: ground truth ``(class, geometry)`` and detections ``(class, score, geometry)``.

    Geometry is ``[x, y, w, h]`` (iou_type "bbox") or a COCO RLE dict (iou_type "segm").
    """

    width: int
    height: int
    gt: list[tuple[int, Any]] = field(default_factory=list)
    dt: list[tuple[int, float, Any]] = field(default_factory=list)


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 6) if b else None


def _f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None or precision + recall == 0:
        return None if precision is None or recall is None else 0.0
    return round(2 * precision * recall / (precision + recall), 6)


def _coco(images: list[ImageShapes], categories: list[str], iou_type: str, detections: bool, min_score: float):
    from pycocotools import mask as coco_mask

    annotations = []
    for image_id, image in enumerate(images, start=1):
        items = image.dt if detections else [(c, None, g) for c, g in image.gt]
        for category, score, geometry in items:
            if detections and score < min_score:
                continue
            ann: dict[str, Any] = {"id": len(annotations) + 1, "image_id": image_id, "category_id": category + 1}
            ann["iscrowd"] = 0
            if iou_type == "segm":
                rle = {"size": geometry["size"], "counts": geometry["counts"]}
                compressed = {"size": rle["size"], "counts": str(rle["counts"]).encode("ascii")}
                ann["segmentation"] = rle
                ann["area"] = float(coco_mask.area(compressed))
                ann["bbox"] = [float(v) for v in coco_mask.toBbox(compressed)]
            else:
                ann["bbox"] = [float(v) for v in geometry]
                ann["area"] = float(geometry[2] * geometry[3])
            if detections:
                ann["score"] = float(score)
            annotations.append(ann)
    coco = COCO()
    coco.dataset = {
        "images": [{"id": i, "width": im.width, "height": im.height} for i, im in enumerate(images, start=1)],
        "categories": [{"id": i + 1, "name": name} for i, name in enumerate(categories)],
        "annotations": annotations,
    }
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def _evaluator(gt, dt, iou_type: str, iou_thresholds, max_dets: int, use_cats: bool = True) -> COCOeval:
    evaluator = COCOeval(gt, dt, iou_type)
    evaluator.params.imgIds = sorted(gt.getImgIds())
    evaluator.params.iouThrs = np.asarray(iou_thresholds, dtype=np.float64)
    evaluator.params.areaRng = [[0.0, 1e10]]
    evaluator.params.areaRngLbl = ["all"]
    evaluator.params.maxDets = [max_dets]
    evaluator.params.useCats = int(use_cats)
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.evaluate()
    return evaluator


def detection_metrics(
    images: list[ImageShapes],
    categories: list[str],
    *,
    iou_type: str = "bbox",
    iou_threshold: float = 0.5,
    confidence_threshold: float = 0.5,
) -> dict[str, Any]:
    """mAP (0.50:0.95, 0.50, 0.75, at ``iou_threshold``), P/R/F1 at both thresholds, per class,
    and a confusion matrix (rows ground truth, columns prediction, plus background)."""
    gt_count = sum(len(im.gt) for im in images)
    max_dets = max([100, *(len(im.dt) for im in images)])
    gt = _coco(images, categories, iou_type, detections=False, min_score=0)
    thresholds = sorted({*np.round(np.linspace(0.5, 0.95, 10), 2).tolist(), round(iou_threshold, 2)})

    # 1. AP from the full precision/recall curves (every score).
    ap_at = np.full(len(categories), np.nan)
    ap_range = np.full(len(categories), np.nan)
    overall = {"map": None, "map50": None, "map75": None, "ap": None}
    if gt_count:
        evaluator = _evaluator(gt, _coco(images, categories, iou_type, True, 0.0), iou_type, thresholds, max_dets)
        with contextlib.redirect_stdout(io.StringIO()):
            evaluator.accumulate()
        precision = evaluator.eval["precision"][:, :, :, 0, -1]  # [T, R, K]

        def mean_ap(t_index: slice | int, k: slice | int = slice(None)) -> float | None:
            values = precision[t_index, :, k]
            values = values[values > -1]
            return round(float(values.mean()), 6) if values.size else None

        standard = [thresholds.index(t) for t in np.round(np.linspace(0.5, 0.95, 10), 2).tolist()]
        at = thresholds.index(round(iou_threshold, 2))
        overall = {
            "map": mean_ap(standard),
            "map50": mean_ap(thresholds.index(0.5)),
            "map75": mean_ap(thresholds.index(0.75)),
            "ap": mean_ap(at),
        }
        for k in range(len(categories)):
            value = mean_ap(at, k)
            ap_at[k] = np.nan if value is None else value
            value = mean_ap(standard, k)
            ap_range[k] = np.nan if value is None else value

    # 2. Matches at the chosen IoU among detections at or above the confidence threshold.
    kept = _coco(images, categories, iou_type, True, confidence_threshold)
    tp, fp, fn = (np.zeros(len(categories), dtype=int) for _ in range(3))
    pred_per_class = np.zeros(len(categories), dtype=int)
    for ann in kept.dataset["annotations"]:
        pred_per_class[ann["category_id"] - 1] += 1
    evaluator = _evaluator(gt, kept, iou_type, [iou_threshold], max_dets)
    for entry in evaluator.evalImgs:
        if entry is None:
            continue
        k = entry["category_id"] - 1
        dt_matches, dt_ignore = entry["dtMatches"][0], entry["dtIgnore"][0].astype(bool)
        tp[k] += int(((dt_matches > 0) & ~dt_ignore).sum())
        fp[k] += int(((dt_matches == 0) & ~dt_ignore).sum())
        fn[k] += int(((entry["gtMatches"][0] == 0) & ~np.asarray(entry["gtIgnore"]).astype(bool)).sum())

    # 3. Class-agnostic pairing for the confusion matrix.
    size = len(categories) + 1  # last row/column: background
    matrix = np.zeros((size, size), dtype=int)
    gt_class = {a["id"]: a["category_id"] - 1 for a in gt.dataset["annotations"]}
    dt_class = {a["id"]: a["category_id"] - 1 for a in kept.dataset["annotations"]}
    agnostic = _evaluator(gt, kept, iou_type, [iou_threshold], max_dets, use_cats=False)
    for entry in agnostic.evalImgs:
        if entry is None:
            continue
        for dt_id, matched in zip(entry["dtIds"], entry["dtMatches"][0], strict=True):
            matrix[gt_class[int(matched)] if matched else size - 1, dt_class[dt_id]] += 1
        for gt_id, matched in zip(entry["gtIds"], entry["gtMatches"][0], strict=True):
            if not matched:
                matrix[gt_class[gt_id], size - 1] += 1

    gt_per_class = np.zeros(len(categories), dtype=int)
    for ann in gt.dataset["annotations"]:
        gt_per_class[ann["category_id"] - 1] += 1
    per_class = []
    for k, name in enumerate(categories):
        p, r = _ratio(tp[k], tp[k] + fp[k]), _ratio(tp[k], tp[k] + fn[k])
        per_class.append(
            {
                "label": name,
                "gt_count": int(gt_per_class[k]),
                "pred_count": int(pred_per_class[k]),
                "tp": int(tp[k]),
                "fp": int(fp[k]),
                "fn": int(fn[k]),
                "precision": p,
                "recall": r,
                "f1": _f1(p, r),
                "ap": None if np.isnan(ap_at[k]) else float(ap_at[k]),
                "ap_50_95": None if np.isnan(ap_range[k]) else float(ap_range[k]),
            }
        )
    total_tp, total_fp, total_fn = int(tp.sum()), int(fp.sum()), int(fn.sum())
    precision_all, recall_all = _ratio(total_tp, total_tp + total_fp), _ratio(total_tp, total_tp + total_fn)
    return {
        "metrics": {
            **overall,
            "precision": precision_all,
            "recall": recall_all,
            "f1": _f1(precision_all, recall_all),
            "tp": total_tp,
            "fp": total_fp,
            "fn": total_fn,
        },
        "per_class": per_class,
        "confusion_matrix": {"labels": [*categories, BACKGROUND], "matrix": matrix.tolist()},
        "gt_count": gt_count,
        "pred_count": int(pred_per_class.sum()),
    }


def classification_metrics(pairs: list[tuple[int, int | None]], categories: list[str]) -> dict[str, Any]:
    """Per-image (ground-truth class, predicted class or None below the threshold) pairs →
    accuracy, P/R/F1 per class and overall (micro), confusion matrix. No mAP for classes."""
    size = len(categories) + 1
    matrix = np.zeros((size, size), dtype=int)
    for truth, predicted in pairs:
        matrix[truth, size - 1 if predicted is None else predicted] += 1
    per_class = []
    for k, name in enumerate(categories):
        tp = int(matrix[k, k])
        fp = int(matrix[:, k].sum() - tp)
        fn = int(matrix[k, :].sum() - tp)
        p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        per_class.append(
            {
                "label": name,
                "gt_count": int(matrix[k, :].sum()),
                "pred_count": int(matrix[:, k].sum()),
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "precision": p,
                "recall": r,
                "f1": _f1(p, r),
                "ap": None,
                "ap_50_95": None,
            }
        )
    tp = int(np.trace(matrix[:-1, :-1]))
    predicted = int(matrix[:, :-1].sum())
    precision_all, recall_all = _ratio(tp, predicted), _ratio(tp, len(pairs))
    return {
        "metrics": {
            "map": None,
            "map50": None,
            "map75": None,
            "ap": None,
            "accuracy": _ratio(tp, len(pairs)),
            "precision": precision_all,
            "recall": recall_all,
            "f1": _f1(precision_all, recall_all),
            "tp": tp,
            "fp": predicted - tp,
            "fn": len(pairs) - tp,
        },
        "per_class": per_class,
        "confusion_matrix": {"labels": [*categories, BACKGROUND], "matrix": matrix.tolist()},
        "gt_count": len(pairs),
        "pred_count": predicted,
    }
