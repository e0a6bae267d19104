"""Auto-annotation: run a registered model (or SAM from a detector's boxes) over a project's
tasks and store the results as predictions — candidates that people accept or reject.

Idempotent: a task gets at most one prediction per job (a retried job continues where it
stopped), and by default a task that already holds a prediction of the same model version
is skipped, so running the same model twice never duplicates candidates.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction

from audit.services import record_event
from jobs.models import JobStatus
from jobs.services import create_job, fail_job, finish_job, is_cancel_requested, report_progress, start_job
from ml import annotation_sink
from ml.frame_source import embedding_key, frame_run, frames_of
from ml.models import AutoAnnotationMode, AutoAnnotationRun, InferenceModel, ModelKind
from ml.services.registry import require_ready
from ml.services.sam import require_sam
from ml.services.scope import LabelResolver, clean_task_filter, select_tasks
from projects.models import Project

logger = logging.getLogger(__name__)

JOB_KIND = "ml.auto_annotation"


@transaction.atomic
def start_auto_annotation(
    *,
    actor,
    project: Project,
    model: InferenceModel,
    mode: str = AutoAnnotationMode.MODEL,
    task_filter: dict[str, Any] | None = None,
    skip_existing: bool = True,
    frame_step: int = 1,
) -> AutoAnnotationRun:
    """Queue a run over the project's tasks matching ``task_filter``."""
    require_ready(model)
    if mode == AutoAnnotationMode.SAM_FROM_BOXES:
        if model.kind != ModelKind.DETECTION:
            raise ValidationError({"mode": ["SAM from boxes needs a detection model."]})
        require_sam()
    if not 1 <= frame_step <= 10_000:
        raise ValidationError({"frame_step": ["Between 1 and 10000."]})
    clean = clean_task_filter(project, task_filter)
    count = select_tasks(project, clean).count()
    if count == 0:
        raise ValidationError({"task_filter": ["No task of the project matches the filter."]})
    version = model.version_label if mode == AutoAnnotationMode.MODEL else f"{model.version_label}+sam2.1"
    job = create_job(
        organization=project.organization_id,
        kind=JOB_KIND,
        created_by=actor,
        project=project,
        params={"model_id": model.pk, "mode": mode, "skip_existing": skip_existing, "frame_step": frame_step},
        total=count,
    )
    run = AutoAnnotationRun.objects.create(
        organization_id=project.organization_id,
        project=project,
        model=model,
        model_version=version,
        mode=mode,
        job=job,
        task_filter=clean,
        task_count=count,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    record_event(
        actor=actor,
        organization=project.organization_id,
        action="ml.auto_annotation_started",
        target=run,
        after={"model": model.version_label, "mode": mode, "tasks": count},
    )
    from ml.actors import auto_annotate

    transaction.on_commit(lambda: auto_annotate.send(job.pk))
    return run


def run_auto_annotation(job_id: int) -> None:
    """Worker: one prediction per task (all its frames' shapes), progress per task."""
    job = start_job(job_id)
    if job is None:
        return
    run = AutoAnnotationRun.objects.select_related("project", "model").get(job=job)
    try:
        _annotate(job, run)
    except Exception as exc:
        logger.exception("auto-annotation %s failed", run.pk)
        fail_job(job, f"Auto-annotation failed: {exc}")


def _annotate(job, run: AutoAnnotationRun) -> None:
    model = run.model
    if model is None:
        fail_job(job, f"Model {run.model_version} was deleted before the run started.")
        return
    engine = None
    if run.mode == AutoAnnotationMode.SAM_FROM_BOXES:
        from ml.engine.sam import SamUnavailable, get_engine

        try:
            engine = get_engine()
        except SamUnavailable as exc:
            fail_job(job, str(exc))
            return
    resolver = LabelResolver(run.project, model)
    tasks = list(select_tasks(run.project, run.task_filter))
    report_progress(job, done=0, total=len(tasks))
    run.tasks_done = run.tasks_skipped = run.predictions_created = run.shapes_created = 0
    step = int(job.params.get("frame_step", 1))
    for number, task in enumerate(tasks, start=1):
        if is_cancel_requested(job):
            _save(run)
            finish_job(job, status=JobStatus.CANCELLED, result=_result(run), message="Cancelled")
            return
        if annotation_sink.has_prediction(task, job=job):
            run.tasks_done += 1  # written by an earlier attempt of this job
        elif job.params.get("skip_existing", True) and annotation_sink.has_prediction(
            task, model_version=run.model_version
        ):
            run.tasks_skipped += 1
        else:
            shapes = []
            frames = {frame.index: frame for frame in frames_of(task)[::step]}
            for index, rgb in frame_run(task, 0, max(frames, default=-1) + 1):
                if index in frames:
                    shapes.extend(frame_shapes(model, resolver, frames[index], rgb, engine))
            annotation_sink.create_prediction(
                task=task, job=job, model_version=run.model_version, shapes=shapes, raw={"mode": run.mode}
            )
            run.tasks_done += 1
            run.predictions_created += 1
            run.shapes_created += len(shapes)
        report_progress(job, done=number)
        _save(run)
    finish_job(job, result=_result(run), message=f"{run.predictions_created} prediction(s) stored")


def frame_shapes(model: InferenceModel, resolver: LabelResolver, frame, rgb, engine=None) -> list[dict[str, Any]]:
    """The model's objects on one frame as prediction shapes (docs/annotations.md schema).

    ``class_name`` is the project label the model class resolves to (by name or alias),
    else the model's own name; accepting the shape maps it (or asks for a class).
    """
    from annotations.geometry import rle_encode
    from ml.engine.torchscript import infer

    inference = infer(model, rgb)
    masks = None
    if engine is not None and inference.found:
        boxes = np.asarray([[x, y, x + w, y + h] for x, y, w, h in (f.box for f in inference.found)], np.float32)
        embedding, _ = engine.embed(embedding_key(frame), lambda: rgb)
        masks = engine.predict_boxes(embedding, boxes)
    shapes: list[dict[str, Any]] = []
    for position, found in enumerate(inference.found):
        shape: dict[str, Any] = {
            "frame_index": frame.index,
            "class_name": resolver.class_name(found.label_index),
            "score": round(found.score, 6),
        }
        if masks is not None:  # machine-made masks are stored as exact COCO RLE
            if not masks[position].mask.any():
                continue  # SAM found no pixel inside this box
            shape.update(type="mask", geometry={"rle": rle_encode(masks[position].mask)})
        elif model.kind == ModelKind.SEGMENTATION:
            shape.update(type="mask", geometry={"rle": found.rle})
        elif model.kind == ModelKind.DETECTION:
            x, y, w, h = found.box
            if w <= 0 or h <= 0:
                continue  # a degenerate box is no candidate
            shape.update(type="bbox", geometry={"x": x, "y": y, "width": w, "height": h})
        else:
            shape.update(type="classification", geometry={})
        shapes.append(shape)
    return shapes


def _save(run: AutoAnnotationRun) -> None:
    run.save(update_fields=["tasks_done", "tasks_skipped", "predictions_created", "shapes_created"])


def _result(run: AutoAnnotationRun) -> dict[str, Any]:
    return {
        "auto_annotation_id": run.pk,
        "tasks_done": run.tasks_done,
        "tasks_skipped": run.tasks_skipped,
        "predictions_created": run.predictions_created,
        "shapes_created": run.shapes_created,
        "model_version": run.model_version,
    }
