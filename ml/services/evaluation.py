"""Evaluation jobs: run a registered model over reviewed work and compare with it.

Ground truth is the reviewed annotation set of the tasks (by default those ``reviewed`` or
``completed``): boxes for a detector, masks/polygons for a segmenter, the classification
label for a classifier. Metrics (``ml.metrics``): mAP via COCOeval, precision, recall and F1 at
the chosen IoU and confidence thresholds, a per-class table and a confusion matrix.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from annotations.geometry import polygons_to_mask, rle_encode
from annotations.models import Annotation, Source
from audit.services import record_event
from jobs.models import JobStatus
from jobs.services import create_job, fail_job, finish_job, is_cancel_requested, report_progress, start_job
from ml.frame_source import frame_image, frames_of
from ml.metrics import ImageShapes, classification_metrics, detection_metrics
from ml.models import EvaluationRun, InferenceModel, ModelKind
from ml.services.registry import require_ready
from ml.services.scope import LabelResolver, clean_task_filter, select_tasks
from projects.models import Project
from tasks.models import TaskStatus

logger = logging.getLogger(__name__)

JOB_KIND = "ml.evaluation"
DEFAULT_STATUSES = [TaskStatus.REVIEWED, TaskStatus.COMPLETED]
GT_TYPES = {
    ModelKind.DETECTION: ("bbox",),
    ModelKind.SEGMENTATION: ("mask", "polygon"),
    ModelKind.CLASSIFICATION: ("classification",),
}


@transaction.atomic
def start_evaluation(
    *,
    actor,
    project: Project,
    model: InferenceModel,
    iou_threshold: float = 0.5,
    confidence_threshold: float = 0.5,
    task_filter: dict[str, Any] | None = None,
) -> EvaluationRun:
    """Queue an evaluation of ``model`` against the project's reviewed tasks."""
    require_ready(model)
    if not 0.05 <= iou_threshold <= 0.95:
        raise ValidationError({"iou_threshold": ["Between 0.05 and 0.95."]})
    if not 0.0 <= confidence_threshold <= 1.0:
        raise ValidationError({"confidence_threshold": ["Between 0 and 1."]})
    clean = clean_task_filter(project, task_filter, default_statuses=DEFAULT_STATUSES)
    count = select_tasks(project, clean).count()
    if count == 0:
        raise ValidationError({"task_filter": ["No task matches the filter (by default: reviewed or completed)."]})
    job = create_job(
        organization=project.organization_id,
        kind=JOB_KIND,
        created_by=actor,
        project=project,
        params={"model_id": model.pk},
        total=count,
    )
    run = EvaluationRun.objects.create(
        organization_id=project.organization_id,
        project=project,
        model=model,
        model_version=model.version_label,
        job=job,
        iou_threshold=iou_threshold,
        confidence_threshold=confidence_threshold,
        task_filter=clean,
        task_count=count,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    record_event(
        actor=actor,
        organization=project.organization_id,
        action="ml.evaluation_started",
        target=run,
        after={"model": model.version_label, "tasks": count, "iou": iou_threshold, "confidence": confidence_threshold},
    )
    from ml.actors import evaluate_model

    transaction.on_commit(lambda: evaluate_model.send(job.pk))
    return run


def run_evaluation(job_id: int) -> None:
    job = start_job(job_id)
    if job is None:
        return
    run = EvaluationRun.objects.select_related("project", "model").get(job=job)
    try:
        _evaluate(job, run)
    except Exception as exc:
        logger.exception("evaluation %s failed", run.pk)
        fail_job(job, f"Evaluation failed: {exc}")


def _ground_truth(task, kind: str) -> dict[int, list[Annotation]]:
    rows = (
        Annotation.objects.filter(task=task, type__in=GT_TYPES[kind], label__isnull=False, frame_index__isnull=False)
        .exclude(source=Source.AI)
        .order_by("frame_index", "id")
    )
    by_frame: dict[int, list[Annotation]] = defaultdict(list)
    for annotation in rows:
        by_frame[annotation.frame_index].append(annotation)
    return by_frame


def _gt_geometry(annotation: Annotation, kind: str, height: int, width: int):
    geometry = annotation.geometry or {}
    if kind == ModelKind.DETECTION:  # {"x", "y", "width", "height"} (docs/annotations.md)
        width_ = geometry.get("width", geometry.get("w"))
        height_ = geometry.get("height", geometry.get("h"))
        return [float(geometry["x"]), float(geometry["y"]), float(width_), float(height_)]
    if geometry.get("rle"):
        return geometry["rle"]
    return rle_encode(polygons_to_mask(geometry.get("polygons") or [], height, width))


def _evaluate(job, run: EvaluationRun) -> None:
    from ml.engine.torchscript import infer

    model = run.model
    if model is None:
        fail_job(job, f"Model {run.model_version} was deleted before the run started.")
        return
    resolver = LabelResolver(run.project, model)
    categories = [label.name for label in resolver.labels]
    index_of = {label.pk: i for i, label in enumerate(resolver.labels)}
    extra: dict[str, int] = {}  # model classes the project has no label for

    def category(found) -> int:
        label = resolver.label(found.label_index)
        if label is not None:
            return index_of[label.pk]
        name = f"{found.label} (model only)"
        if name not in extra:
            extra[name] = len(categories)
            categories.append(name)
        return extra[name]

    framed = run.project.kind_info.framed
    tasks = list(select_tasks(run.project, run.task_filter))
    report_progress(job, done=0, total=len(tasks))
    images: list[ImageShapes] = []
    pairs: list[tuple[int, int | None]] = []
    for number, task in enumerate(tasks, start=1):
        if is_cancel_requested(job):
            finish_job(job, status=JobStatus.CANCELLED, message="Cancelled; nothing stored")
            return
        truth = _ground_truth(task, model.kind)
        for frame in frames_of(task):
            if framed and frame.index not in truth:
                continue
            gt = truth.get(frame.index, [])
            # Every score: mAP needs the whole curve; the thresholds apply in the metrics.
            inference = infer(model, frame_image(task, frame.index), min_score=0.0)
            if model.kind == ModelKind.CLASSIFICATION:
                if not gt:
                    continue
                top = inference.found[0] if inference.found else None
                confident = top is not None and top.score >= run.confidence_threshold
                pairs.append((index_of[gt[0].label_id], category(top) if confident else None))
                continue
            image = ImageShapes(width=frame.width, height=frame.height)
            image.gt = [(index_of[a.label_id], _gt_geometry(a, model.kind, frame.height, frame.width)) for a in gt]
            for found in inference.found:
                geometry = list(found.box) if model.kind == ModelKind.DETECTION else found.rle
                image.dt.append((category(found), found.score, geometry))
            images.append(image)
        report_progress(job, done=number)
    if model.kind == ModelKind.CLASSIFICATION:
        outcome = classification_metrics(pairs, categories)
        run.image_count = len(pairs)
    else:
        iou_type = "bbox" if model.kind == ModelKind.DETECTION else "segm"
        outcome = detection_metrics(
            images,
            categories,
            iou_type=iou_type,
            iou_threshold=run.iou_threshold,
            confidence_threshold=run.confidence_threshold,
        )
        run.image_count = len(images)
    run.metrics = outcome["metrics"]
    run.per_class = outcome["per_class"]
    run.confusion_matrix = outcome["confusion_matrix"]
    run.gt_count, run.pred_count = outcome["gt_count"], outcome["pred_count"]
    run.save(update_fields=["metrics", "per_class", "confusion_matrix", "gt_count", "pred_count", "image_count"])
    finish_job(job, result={"evaluation_id": run.pk, **run.metrics}, message="Evaluation done")
