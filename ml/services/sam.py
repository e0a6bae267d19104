"""Click/box → mask with SAM 2.1, as fast as a round trip to the ML worker allows.

Web side (:func:`request_masks`): validate, hand the prompt to the ML workers through the
interactive lane (``ml.lane``) with a reply key, block on that key (``ml.replies``) for at
most ``ML_INTERACTIVE_TIMEOUT_SECONDS``.
Worker side (:func:`compute_masks`): fetch the frame's embedding from the worker's LRU (or
compute and keep it), decode the prompt, trace the masks into polygons + RLE.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404

from annotations.geometry import mask_to_polygons, rle_area, rle_bbox, rle_encode
from annotator.api.errors import ApiError, ServiceUnavailable
from media.selectors import FrameNotFound
from ml import lane, replies
from ml.frame_source import embedding_key, frame_image, get_frame
from ml.sam_config import CONFIGURE_HELP, SamUnavailable, sam_configured
from tasks.models import Task

logger = logging.getLogger(__name__)
_TRACERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ml-trace")


def require_sam() -> None:
    """503 with how to configure SAM when no checkpoint is set (the web never loads it)."""
    if not sam_configured():
        raise ServiceUnavailable(CONFIGURE_HELP, code="sam_not_configured")


def sam_status() -> dict[str, Any]:
    from ml.sam_config import SAM2_SIZES, config_name

    configured = sam_configured()
    return {
        "configured": configured,
        "config": config_name(),
        "device": settings.ML_DEVICE,
        "sizes": SAM2_SIZES,
        "message": "" if configured else CONFIGURE_HELP,
    }


def _frame_for_prompt(task: Task, frame_index: int):
    try:
        return get_frame(task, frame_index)
    except Http404:
        raise ValidationError({"frame_index": [f"Task {task.pk} has no frame {frame_index}."]}) from None


def validate_prompt(frame, points: list[list[float]], point_labels: list[int], box: list[float] | None) -> None:
    if not points and box is None:
        raise ValidationError({"points": ["Give at least one point or a box."]})
    if len(points) != len(point_labels):
        raise ValidationError({"point_labels": ["Give one label (1 positive, 0 negative) per point."]})
    width, height = frame.width, frame.height
    for i, (x, y) in enumerate(points):
        if not (0 <= x <= width and 0 <= y <= height):
            raise ValidationError({f"points.{i}": [f"({x}, {y}) lies outside the {width}x{height} frame."]})
    if box is not None:
        x1, y1, x2, y2 = box
        if not (0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height):
            raise ValidationError({"box": [f"Give x1 < x2 and y1 < y2 within the {width}x{height} frame."]})


def request_masks(
    *,
    task: Task,
    frame_index: int,
    points: list[list[float]],
    point_labels: list[int],
    box: list[float] | None = None,
    multimask_output: bool = True,
    include_polygons: bool = True,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Ask the ML worker for masks and wait for them (503 ``sam_busy`` when it is too slow)."""
    require_sam()
    frame = _frame_for_prompt(task, frame_index)
    validate_prompt(frame, points, point_labels, box)
    timeout = settings.ML_INTERACTIVE_TIMEOUT_SECONDS if timeout is None else timeout
    key = replies.new_reply_key()
    lane.submit(
        {
            "kind": "masks",
            "reply_key": key,
            "organization_id": task.organization_id,
            "task_id": task.pk,
            "frame_index": frame_index,
            # The picture's identity, so a click on an embedded frame needs no query.
            "picture": list(embedding_key(frame)),
            "points": points,
            "point_labels": point_labels,
            "box": box,
            "multimask_output": multimask_output,
            "include_polygons": include_polygons,
            # A click nobody waits for any more is not worth computing.
            "deadline": time.time() + timeout,
        }
    )
    answer = replies.wait_reply(key, timeout)
    if answer is None:
        raise ServiceUnavailable(
            f"The ML worker did not answer within {timeout:g} s (it may be loading SAM or busy); "
            "try again in a moment. Is a worker running the 'ml' queue?",
            code="sam_busy",
        )
    if "error" in answer:
        raise ApiError(answer["error"], code=answer.get("code", "sam_failed"), status_code=answer.get("status", 500))
    return answer["result"]


def request_embedding(*, task: Task, frame_index: int) -> None:
    """Have the worker embed a frame now (the portal calls this when a frame is shown)."""
    require_sam()
    _frame_for_prompt(task, frame_index)
    lane.submit(
        {"kind": "embed", "organization_id": task.organization_id, "task_id": task.pk, "frame_index": frame_index}
    )


# --- worker side -----------------------------------------------------------------------------
def compute_masks(
    *,
    task: Task,
    frame_index: int,
    points: list[list[float]],
    point_labels: list[int],
    box: list[float] | None = None,
    multimask_output: bool = True,
    include_polygons: bool = True,
) -> dict[str, Any]:
    """Masks for a prompt on a task's frame (runs in the ML worker)."""
    frame = get_frame(task, frame_index)
    return masks_for_picture(
        embedding_key(frame),
        lambda: frame_image(task, frame_index),
        task_id=task.pk,
        frame_index=frame_index,
        points=points,
        point_labels=point_labels,
        box=box,
        multimask_output=multimask_output,
        include_polygons=include_polygons,
    )


def masks_for_picture(
    picture_key: tuple,
    load_picture,
    *,
    task_id: int,
    frame_index: int,
    points: list[list[float]],
    point_labels: list[int],
    box: list[float] | None = None,
    multimask_output: bool = True,
    include_polygons: bool = True,
) -> dict[str, Any]:
    """Masks for a prompt on the picture ``picture_key`` names (``load_picture`` reads it only
    when its embedding is not cached): SAM's decoder, then COCO RLE and traced polygons."""
    from ml.engine.sam import get_engine

    started = time.perf_counter()
    engine = get_engine()
    embedding, cached = engine.embed(picture_key, load_picture)
    embedded = time.perf_counter()
    results = engine.predict(
        embedding,
        points=np.asarray(points, dtype=np.float32) if points else None,
        point_labels=np.asarray(point_labels, dtype=np.int32) if points else None,
        box=np.asarray(box, dtype=np.float32) if box is not None else None,
        multimask_output=multimask_output,
    )
    decoded = time.perf_counter()
    masks = encode_masks([r.mask for r in results], include_polygons=include_polygons)
    for mask, result in zip(masks, results, strict=True):
        mask["score"] = round(result.score, 6)
    finished = time.perf_counter()
    return {
        "task_id": task_id,
        "frame_index": frame_index,
        "width": int(embedding.orig_hw[1]),
        "height": int(embedding.orig_hw[0]),
        "model_version": engine.model_version,
        "masks": masks,
        "timing": {
            "embedding_cached": cached,
            "embedding_ms": round((embedded - started) * 1000, 2),
            "decoder_ms": round((decoded - embedded) * 1000, 2),
            "encode_ms": round((finished - decoded) * 1000, 2),
            "worker_ms": round((finished - started) * 1000, 2),
        },
    }


def encode_masks(masks: list[np.ndarray], *, include_polygons: bool = True) -> list[dict[str, Any]]:
    """``{"area", "bbox", "rle", "polygons"?}`` per binary mask; the masks are traced side by
    side (the exact tracer spends its time in GEOS, outside the GIL)."""
    traced = _TRACERS.map(mask_to_polygons, masks) if include_polygons else None
    out = []
    for mask in masks:
        rle = rle_encode(mask)
        out.append({"area": rle_area(rle), "bbox": list(rle_bbox(rle)), "rle": rle})
    if traced is not None:
        for item, polygons in zip(out, traced, strict=True):
            item["polygons"] = polygons
    return out


def answer_mask_request(message: dict[str, Any]) -> None:
    """Compute the masks a web request waits for and reply (errors become its HTTP answer)."""
    key = message["reply_key"]
    if time.time() > message.get("deadline", float("inf")):
        return
    frame_index = message["frame_index"]

    def load_picture():  # only on an embedding miss; the message was tenant-checked by the web
        task = Task.objects.for_organization(message["organization_id"]).get(pk=message["task_id"])
        return frame_image(task, frame_index)

    try:
        result = masks_for_picture(
            tuple(message["picture"]),
            load_picture,
            task_id=message["task_id"],
            frame_index=frame_index,
            points=message.get("points") or [],
            point_labels=message.get("point_labels") or [],
            box=message.get("box"),
            multimask_output=message.get("multimask_output", True),
            include_polygons=message.get("include_polygons", True),
        )
    except SamUnavailable as exc:
        replies.send_reply(key, {"error": str(exc), "code": "sam_unavailable", "status": 503})
    except (Task.DoesNotExist, Http404, FrameNotFound) as exc:
        replies.send_reply(key, {"error": str(exc) or "Not found.", "code": "not_found", "status": 404})
    except Exception as exc:
        logger.exception("SAM mask request failed")
        replies.send_reply(key, {"error": f"SAM failed: {exc}", "code": "sam_failed", "status": 500})
    else:
        replies.send_reply(key, {"result": result})


def warm_embedding(organization_id: int, task_id: int, frame_index: int) -> None:
    from ml.engine.sam import get_engine

    task = Task.objects.for_organization(organization_id).filter(pk=task_id).first()
    if task is None:
        return
    engine = get_engine()
    frame = get_frame(task, frame_index)
    engine.embed(embedding_key(frame), lambda: frame_image(task, frame_index))
