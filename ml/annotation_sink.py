"""How ML reads reference shapes and writes its results: through the annotations app's
services (``write_annotations``, ``clear_chain``, ``create_prediction``), which own
validation, revisions and the audit trail. ML never writes annotation rows itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db import transaction

from annotations import services as annotation_services
from annotations.geometry import polygons_to_mask, rle_decode, rle_encode
from annotations.models import Annotation, Prediction, Source
from jobs.events import project_group, publish

AREA_TYPES = ("mask", "polygon")


def shape_mask(shape_type: str, geometry: dict, height: int, width: int) -> np.ndarray | None:
    """The binary mask of a stored mask/polygon shape (None for shapes that are not areas)."""
    if shape_type not in AREA_TYPES or not isinstance(geometry, dict):
        return None
    if geometry.get("rle"):
        mask = rle_decode(geometry["rle"])
        return mask.astype(bool) if mask.shape == (height, width) else None
    if geometry.get("polygons"):
        return polygons_to_mask(geometry["polygons"], height, width).astype(bool)
    return None


def object_masks(task, frame_index: int, height: int, width: int) -> dict[str, tuple[np.ndarray, Annotation]]:
    """``{object_id: (mask, annotation)}`` for the area shapes on a frame that name an object
    (AI candidates excluded; several parts of one object are united)."""
    out: dict[str, tuple[np.ndarray, Annotation]] = {}
    rows = (
        Annotation.objects.filter(task=task, frame_index=frame_index, type__in=AREA_TYPES)
        .exclude(object_id="")
        .exclude(source=Source.AI)
        .select_related("label")
        .order_by("id")
    )
    for annotation in rows:
        mask = shape_mask(annotation.type, annotation.geometry, height, width)
        if mask is None or not mask.any():
            continue
        if annotation.object_id in out:
            out[annotation.object_id] = (out[annotation.object_id][0] | mask, out[annotation.object_id][1])
        else:
            out[annotation.object_id] = (mask, annotation)
    return out


def frames_with_own_shapes(task, object_id: str, first: int, last: int) -> set[int]:
    """Frames where the object has a shape that is not propagated (prompts; never overwritten)."""
    return set(
        Annotation.objects.filter(task=task, object_id=object_id, frame_index__gte=first, frame_index__lte=last)
        .exclude(source__in=[Source.PROPAGATED, Source.AI])
        .values_list("frame_index", flat=True)
    )


def propagated_shape(*, frame_index: int, object_id: str, class_name: str, mask: np.ndarray) -> dict[str, Any] | None:
    """One frame's mask of an object as a shape, or None when the mask is empty.

    Machine-made masks are stored as COCO RLE: exact (what the model said, pixel for pixel)
    and cheap to validate and store, where traced polygons of a ragged mask cost the
    annotation service a shapely repair per frame.
    """
    if not mask.any():
        return None
    return {
        "type": "mask",
        "class_name": class_name,
        "frame_index": frame_index,
        "object_id": object_id,
        "geometry": {"rle": rle_encode(mask)},
    }


def write_propagated(*, task, job, shapes: list[dict[str, Any]]) -> int:
    """Add a batch of propagated shapes as the job's chain (one annotation revision)."""
    if not shapes:
        return 0
    result = annotation_services.write_annotations(
        task,
        shapes,
        source=Source.PROPAGATED,
        actor=job.created_by,
        produced_by=job,
        action="propagate",
    )
    return len(result.annotations)


def clear_chain(task, job, *, actor=None) -> list[int]:
    """Remove exactly the annotations ``job`` propagated on ``task``; returns the frames that
    changed (also pushed to the project's live channel so timelines update)."""
    frames = sorted(
        set(
            Annotation.objects.filter(task=task, produced_by=job, source=Source.PROPAGATED)
            .exclude(frame_index=None)
            .values_list("frame_index", flat=True)
        )
    )
    annotation_services.clear_chain(task, job, actor=actor)
    if frames:
        event = {"type": "annotations.changed", "task_id": task.pk, "frames": frames, "chain": job.pk}
        groups = [project_group(task.organization_id, task.project_id)]
        transaction.on_commit(lambda: publish(groups, event))
    return frames


# --- predictions (AI candidates) ---------------------------------------------------------------
def has_prediction(task, *, job=None, model_version: str | None = None) -> bool:
    rows = Prediction.objects.filter(task=task)
    if job is not None:
        rows = rows.filter(job=job)
    if model_version is not None:
        rows = rows.filter(model_version=model_version)
    return rows.exists()


def create_prediction(*, task, job, model_version: str, shapes: list[dict], raw: Any = None) -> Prediction:
    """Store a model's candidates for a task (score: the best shape's)."""
    score = max((s["score"] for s in shapes if s.get("score") is not None), default=None)
    return annotation_services.create_prediction(
        task, model_version, shapes=shapes, raw=raw, score=score, job=job, actor=job.created_by if job else None
    )
