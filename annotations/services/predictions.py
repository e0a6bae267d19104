"""AI predictions as candidates: stored in our shape schema, accepted or rejected shape by shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404

from annotations.adapters import AdapterError, to_internal_shapes
from annotations.models import Annotation, AnnotationRevision, Prediction, PredictionDecision, Source
from annotations.services.revisions import commit_revision, edit_task
from annotations.services.saving import apply_shapes
from annotations.shapes import ShapeContext, ShapesInvalid, validate_shapes
from annotator.api.errors import ApiError, Conflict
from audit.services import record_event
from jobs.models import Job
from projects.kinds import AnnotationType
from tasks.models import Task
from tasks.services.locks import require_lock


def _user(actor: Any):
    return actor if getattr(actor, "is_authenticated", False) else None


def _stored_shape(shape) -> dict:
    """A validated candidate as ``Prediction.shapes`` keeps it (relations keep their references)."""
    geometry = dict(shape.geometry)
    for end, (how, value) in shape.relation.items():
        geometry[end] = {how: value}
    out = {
        "type": shape.type,
        "class_name": shape.class_name,
        "geometry": geometry,
        "attributes": shape.attributes,
        "frame_index": shape.frame_index,
    }
    if shape.object_id:
        out["object_id"] = shape.object_id
    if shape.score is not None:
        out["score"] = shape.score
    return out


def create_prediction(
    task: Task,
    model_version: str,
    *,
    shapes: list[dict] | None = None,
    raw: Any = None,
    score: float | None = None,
    job: Job | None = None,
    actor: Any = None,
) -> Prediction:
    """Store a model's output for ``task`` as candidates (the ML engineer's entry point).

    Give ``shapes`` in our schema, or ``raw`` output (Label Studio results, percent
    coordinates; see ``annotations.adapters``) which is converted with ``to_internal_shapes``
    and kept as received. Class names stay the model's own (aliases are mapped when a shape
    is accepted); geometry is validated like an annotation's. Raises ``ValidationError``
    (``{"raw": [...]}`` or ``shapes.<i>.<field>``) when the output cannot be used.
    """
    if shapes is None:
        if raw is None:
            raise ValueError("give shapes or raw")
        ctx = ShapeContext(task, check_labels=False, map_aliases=True, existing=[])
        size = ctx.frame_sizes.get(0) or (None, None)
        try:
            shapes = to_internal_shapes(raw, width=size[0], height=size[1])
        except AdapterError as exc:
            raise ValidationError({"raw": [str(exc)]}) from None
    else:
        ctx = ShapeContext(task, check_labels=False, map_aliases=True, existing=[])
    clean = validate_shapes(shapes, ctx, replace=False)
    with transaction.atomic():
        prediction = Prediction(
            task=task,
            project_id=task.project_id,
            model_version=model_version[:200],
            score=score,
            shapes=[_stored_shape(shape) for shape in clean],
            raw=raw,
            job=job,
        )
        prediction.inherit_organization(task)
        prediction.save()
        record_event(
            actor=actor,
            organization=task.organization_id,
            action="prediction.created",
            target=prediction,
            after={"task_id": task.pk, "model_version": prediction.model_version, "shapes": len(clean)},
        )
    return prediction


def _prediction_shape(task: Task, prediction_id: int, shape_index: int) -> tuple[Prediction, dict]:
    prediction = Prediction.objects.filter(task=task, pk=prediction_id).first()
    if prediction is None:
        raise Http404(f"No prediction {prediction_id} on task {task.pk}.")
    if not 0 <= shape_index < len(prediction.shapes):
        raise ValidationError(
            {
                "shape_index": [
                    f"prediction {prediction_id} has {len(prediction.shapes)} shapes "
                    f"(0-{len(prediction.shapes) - 1}); got {shape_index}."
                ]
            }
        )
    decision = prediction.decisions.filter(shape_index=shape_index).first()
    if decision is not None:
        raise Conflict(
            f"Shape {shape_index} of prediction {prediction_id} was already {decision.decision}.",
            code="already_decided",
            decision=decision.decision,
        )
    return prediction, prediction.shapes[shape_index]


@dataclass
class Accepted:
    annotation: Annotation
    revision: AnnotationRevision | None
    task: Task


def accept_prediction_shape(
    task: Task, prediction_id: int, shape_index: int, *, actor: Any, revision: int | None = None
) -> Accepted:
    """Write one candidate shape as an annotation (source ``ai-accepted``), its class mapped
    from the model's name to the project's through ``LabelClass.aliases`` (unknown → 400
    naming it). Needs the caller's lock; audited as ``annotation.prediction_accepted``."""
    with edit_task(task, actor=actor, revision=revision, lock="holder") as edit:
        prediction, shape = _prediction_shape(edit.task, prediction_id, shape_index)
        ctx = ShapeContext(edit.task, map_aliases=True)
        alias = shape.get("class_name") or ""
        label = ctx.label_for(alias) if alias else None
        if label is None and (alias or shape.get("type") != AnnotationType.RELATION):
            message = (
                f"Unknown class {alias!r} in shape {shape_index} of prediction {prediction_id}: no label of this "
                f"project has that name or alias. Add {alias!r} to a label's aliases, then accept again."
            )
            raise ApiError(message, code="unknown_class", errors={"class_name": [message]}, class_name=alias)
        candidate = {**shape, "class_name": label.name if label else ""}
        candidate.pop("score", None)
        if shape.get("type") == AnnotationType.RELATION:
            candidate["geometry"] = _accepted_ends(prediction, shape["geometry"])
        try:
            clean = validate_shapes([candidate], ctx, replace=False)
        except ShapesInvalid as exc:
            raise ValidationError({key.removeprefix("shapes.0."): msgs for key, msgs in exc.errors.items()}) from None
        clean[0].score = shape.get("score")
        (annotation,) = apply_shapes(
            edit, clean, source=Source.AI_ACCEPTED, author=actor, replace=False, prediction=prediction
        )
        annotation.prediction_shape_index = shape_index
        annotation.save(update_fields=["prediction_shape_index"])
        try:
            with transaction.atomic():
                PredictionDecision.objects.create(
                    organization_id=prediction.organization_id,
                    prediction=prediction,
                    shape_index=shape_index,
                    decision=PredictionDecision.Decision.ACCEPTED,
                    decided_by=_user(actor),
                )
        except IntegrityError:  # pragma: no cover - the task row lock serialises decisions
            raise Conflict(f"Shape {shape_index} of prediction {prediction_id} was already decided.") from None
        saved = commit_revision(edit, "accept", extra={"prediction_id": prediction.pk, "shape_index": shape_index})
        record_event(
            actor=actor,
            organization=edit.task.organization_id,
            action="annotation.prediction_accepted",
            target=annotation,
            after={
                "prediction_id": prediction.pk,
                "shape_index": shape_index,
                "model_version": prediction.model_version,
                "model_class": alias,
                "class_name": label.name if label else "",
                "revision": edit.task.annotation_revision,
            },
        )
        return Accepted(annotation=annotation, revision=saved, task=edit.task)


def _accepted_ends(prediction: Prediction, geometry: dict) -> dict:
    """A candidate relation's ends (shape indexes of the prediction) → the accepted annotations."""
    out = dict(geometry)
    for end in ("from", "to"):
        ref = geometry.get(end) or {}
        if "index" in ref:
            accepted = Annotation.objects.filter(prediction=prediction, prediction_shape_index=ref["index"]).first()
            if accepted is None:
                raise ValidationError(
                    {"shape_index": [f"this relation links shape {ref['index']}: accept that shape first."]}
                )
            out[end] = {"id": accepted.pk}
    return out


def reject_prediction_shape(task: Task, prediction_id: int, shape_index: int, *, actor: Any) -> PredictionDecision:
    """Hide one candidate shape from the task's candidates for good (needs the caller's lock)."""
    with transaction.atomic():
        locked = Task.objects.select_for_update(of=("self",)).select_related("locked_by").get(pk=task.pk)
        require_lock(locked, actor)
        prediction, _ = _prediction_shape(locked, prediction_id, shape_index)
        decision = PredictionDecision.objects.create(
            organization_id=prediction.organization_id,
            prediction=prediction,
            shape_index=shape_index,
            decision=PredictionDecision.Decision.REJECTED,
            decided_by=_user(actor),
        )
        record_event(
            actor=actor,
            organization=locked.organization_id,
            action="annotation.prediction_rejected",
            target=prediction,
            after={"prediction_id": prediction.pk, "shape_index": shape_index},
        )
        return decision
