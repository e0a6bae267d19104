"""Read paths of annotations, their history and candidate predictions (tenant-scoped by the
task the caller already resolved; related rows fetched once)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from annotations.geometry import box_at
from annotations.models import Annotation, AnnotationRevision, Prediction
from projects.kinds import AnnotationType
from tasks.models import Task


def task_annotations(
    task: Task,
    *,
    frame_index: int | None = None,
    types: list[str] | None = None,
    sources: list[str] | None = None,
    label: int | str | None = None,
) -> list[Annotation]:
    """The task's current annotations. ``frame_index``: the shapes on that frame, with the
    tracks that are visible on it (interpolated by ``geometry.track_frames``)."""
    queryset = Annotation.objects.filter(task=task).select_related("label", "author").order_by("frame_index", "id")
    if types:
        queryset = queryset.filter(type__in=types)
    if sources:
        queryset = queryset.filter(source__in=sources)
    if isinstance(label, int):
        queryset = queryset.filter(label_id=label)
    elif isinstance(label, str):
        queryset = queryset.filter(label__name__iexact=label)
    if frame_index is None:
        return list(queryset)
    queryset = queryset.filter(Q(frame_index=frame_index) | Q(type=AnnotationType.VIDEO_TRACK))
    return [
        a
        for a in queryset
        if a.type != AnnotationType.VIDEO_TRACK or box_at(a.geometry.get("keyframes", []), frame_index) is not None
    ]


def task_history(task: Task) -> QuerySet[AnnotationRevision]:
    """Every revision of the task's annotation set, newest first (snapshots left out)."""
    return AnnotationRevision.objects.filter(task=task).select_related("author").defer("snapshot").order_by("-number")


def task_predictions(task: Task) -> QuerySet[Prediction]:
    return Prediction.objects.filter(task=task).prefetch_related("decisions").order_by("-created_at", "-id")


def candidate_shapes(prediction: Prediction, classes: dict[str, str], *, include_decided: bool) -> list[dict[str, Any]]:
    """A prediction's shapes as candidates: ``shape_index`` (what accept/reject name), the
    project class the model's name maps to (None when unknown), and the decision; decided
    shapes are left out unless ``include_decided``."""
    decided = {d.shape_index: d.decision for d in prediction.decisions.all()}
    out = []
    for index, shape in enumerate(prediction.shapes):
        if index in decided and not include_decided:
            continue
        name = shape.get("class_name") or ""
        out.append(
            {
                "shape_index": index,
                **shape,
                "project_class_name": classes.get(name.strip().lower()),
                "decision": decided.get(index),
            }
        )
    return out


def class_names_with_aliases(task: Task) -> dict[str, str]:
    """``{lower-case name or alias: the project's class name}``."""
    out: dict[str, str] = {}
    for name, aliases in task.project.labels.values_list("name", "aliases"):
        for alias in aliases or []:
            out.setdefault(alias.lower(), name)
        out[name.lower()] = name
    return out
