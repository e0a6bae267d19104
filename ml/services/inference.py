"""Batch inference: many images → per-image results, run in the ML worker, every image recorded.

This is the engine behind the detection-service contract (``POST /api/detect`` and
``/api/data/*``) as well as our own ``/api/v1/inference-runs``. Functions for that contract:

* :func:`detect_images` — the whole synchronous request: store, queue, wait (what
  ``POST /api/detect`` needs), returning the run and whether it finished in time;
* :func:`start_batch_inference` — validate and store the images, queue the run;
* :func:`wait_for_run` — block until the worker finished it (or a timeout);
* :func:`record_result` — one image's result as a dict; :func:`result_image_bytes` — its
  rendered image (JPEG);
* ``ml.selectors``: ``recent_records``, ``record_stats_by_date``, ``search_records``.
"""

from __future__ import annotations

import io
import logging
import re
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image

from annotator.api.errors import ApiError
from audit.services import record_event
from jobs.models import JobStatus
from jobs.services import create_job, fail_job, finish_job, is_cancel_requested, report_progress, start_job
from ml import replies
from ml.models import InferenceModel, InferenceRecord, InferenceRun, RecordStatus
from ml.services.registry import default_detection_model, require_ready

logger = logging.getLogger(__name__)

JOB_KIND = "ml.inference"


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[-120:] or "image"


def check_image(upload: File, position: int) -> tuple[int, int]:
    """(width, height) of a decodable image, else a 400 naming the file."""
    name = getattr(upload, "name", None) or f"image {position + 1}"
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            size = image.size
        upload.seek(0)
    except Exception as exc:
        raise ValidationError({f"images.{position}": [f"Invalid image data for {name}: {exc}"]}) from None
    return size


def resolve_model(organization, model: InferenceModel | None) -> InferenceModel:
    if model is None:
        model = default_detection_model(organization)
        if model is None:
            raise ValidationError(
                {"model_id": ["Name a model: the organization has no default detection model (set one first)."]}
            )
    require_ready(model)
    return model


@transaction.atomic
def start_batch_inference(
    *, actor, organization, images: list[File], model: InferenceModel | None = None, reply_key: str | None = None
) -> InferenceRun:
    """Store the images, record one pending row per image and queue the run (``ml`` queue)."""
    if not images:
        raise ValidationError({"images": ["Send at least one image (multipart field 'images')."]})
    if len(images) > settings.ML_INFERENCE_MAX_IMAGES:
        raise ValidationError({"images": [f"At most {settings.ML_INFERENCE_MAX_IMAGES} images per request."]})
    model = resolve_model(organization, model)
    sizes = [check_image(upload, position) for position, upload in enumerate(images)]
    org_id = organization if isinstance(organization, int) else organization.pk
    job = create_job(
        organization=org_id,
        kind=JOB_KIND,
        created_by=actor,
        params={"model_id": model.pk, "reply_key": reply_key or ""},
        total=len(images),
    )
    run = InferenceRun.objects.create(
        organization_id=org_id,
        model=model,
        model_version=model.version_label,
        job=job,
        image_count=len(images),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    records = []
    for position, (upload, (width, height)) in enumerate(zip(images, sizes, strict=True)):
        name = (getattr(upload, "name", None) or f"image-{position + 1}.jpg")[:500]
        path = default_storage.save(f"{run.storage_prefix}/images/{position:04d}-{_safe_name(name)}", upload)
        records.append(
            InferenceRecord(
                organization_id=org_id,
                run=run,
                model=model,
                model_version=model.version_label,
                position=position,
                image_name=name,
                image_path=path,
                width=width,
                height=height,
            )
        )
    InferenceRecord.objects.bulk_create(records)
    record_event(
        actor=actor, organization=org_id, action="ml.inference_started", target=run, after={"images": len(images)}
    )
    from ml.actors import run_inference

    transaction.on_commit(lambda: run_inference.send(job.pk))
    return run


def detect_images(
    *, actor, organization, images: list[File], model: InferenceModel | None = None, timeout: float = 60.0
) -> tuple[InferenceRun, bool]:
    """Infer ``images`` and wait up to ``timeout`` seconds: ``(run, finished)``.

    The run's records (``run.records.order_by("position")``) carry each image's result;
    :func:`record_result` and :func:`result_image_bytes` turn one into the contract's fields.
    Call it outside a transaction: the run is queued when the images are committed.
    """
    key = replies.new_reply_key()
    run = start_batch_inference(actor=actor, organization=organization, images=images, model=model, reply_key=key)
    finished = wait_for_run(run, key, timeout)
    return run, finished


def wait_for_run(run: InferenceRun, reply_key: str, timeout: float) -> bool:
    """Block until the worker finished ``run`` (True) or ``timeout`` seconds passed (False)."""
    if run.job.is_finished:
        return True
    if timeout > 0 and replies.wait_reply(reply_key, timeout) is not None:
        run.job.refresh_from_db()
        return True
    run.job.refresh_from_db()
    return run.job.is_finished


def run_batch(job_id: int) -> None:
    """Worker: infer each pending image of the run, render and record its result."""
    from ml.engine.torchscript import infer, render_result

    job = start_job(job_id)
    if job is None:
        return
    run = InferenceRun.objects.select_related("model").get(job=job)
    key = job.params.get("reply_key") or ""
    try:
        model = run.model
        if model is None:
            fail_job(job, f"Model {run.model_version} was deleted before the run started.")
            return
        pending = list(run.records.filter(status=RecordStatus.PENDING).order_by("position"))
        done = run.image_count - len(pending)
        for record in pending:
            if is_cancel_requested(job):
                finish_job(job, status=JobStatus.CANCELLED, result=_summary(run), message="Cancelled")
                return
            record.run = run
            _infer_record(record, model, infer, render_result)
            done += 1
            report_progress(job, done=done, message=f"{record.image_name} done")
        finish_job(job, result=_summary(run), message=f"{run.image_count} image(s) inferred")
    except Exception as exc:
        logger.exception("inference run %s failed", run.pk)
        fail_job(job, f"Inference failed: {exc}")
    finally:
        if key:
            replies.send_reply(key, {"run": run.pk})


def _infer_record(record: InferenceRecord, model: InferenceModel, infer, render_result) -> None:
    try:
        with default_storage.open(record.image_path, "rb") as handle:
            data = handle.read()
        with Image.open(io.BytesIO(data)) as image:
            rgb = np.asarray(image.convert("RGB"))
        inference = infer(model, rgb)
        rendered = render_result(rgb, inference, model.kind)
        name = f"{record.run.storage_prefix}/results/{record.position:04d}.jpg"
        record.result_image_path = default_storage.save(name, ContentFile(rendered))
        record.object_count = len(inference.found)
        record.labels = list(dict.fromkeys(f.label for f in inference.found))
        record.confidence = max((f.score for f in inference.found), default=None)
        record.results = [f.as_dict() for f in inference.found]
        record.processing_ms = round(inference.seconds * 1000, 3)
        record.status = RecordStatus.DONE
    except Exception as exc:
        logger.warning("inference of %s failed: %s", record.image_name, exc)
        record.status, record.error = RecordStatus.FAILED, str(exc)[:1000]
    record.save()


def _summary(run: InferenceRun) -> dict[str, Any]:
    counts = {s: 0 for s in RecordStatus.values}
    for status in run.records.values_list("status", flat=True):
        counts[status] += 1
    return {"inference_run_id": run.pk, "model_version": run.model_version, **counts}


def record_result(record: InferenceRecord) -> dict[str, Any]:
    """One image's result, in the words of the detection contract (plus our own fields)."""
    return {
        "id": record.pk,
        "name": record.image_name,
        "status": record.status,
        "error": record.error,
        "object_count": record.object_count,
        "labels": record.labels,
        "confidence": record.confidence,
        "processing_ms": record.processing_ms,
        "model_version": record.model_version,
        "results": record.results,
        "created_at": record.created_at,
    }


def result_image_bytes(record: InferenceRecord) -> bytes:
    """The rendered result image (JPEG); 404-worthy ApiError when there is none."""
    if not record.result_image_path:
        raise ApiError(
            f"Image {record.image_name} has no result image ({record.status}).", code="not_found", status_code=404
        )
    with default_storage.open(record.result_image_path, "rb") as handle:
        return handle.read()
