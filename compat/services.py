"""Cytomine writes: a Cytomine annotation body → our annotation, through the annotations app.

Every object named in a body (``image``, ``project``, ``term``) is looked up in the caller's
organization; a missing or foreign one is a 400 naming the field, never used.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from annotations.models import Annotation
from compat import adapters, selectors
from compat.wkt import LOCATED_TYPES, InvalidLocation, parse_location, stored_shape
from projects.labels import UNCLASSIFIED_MASKID
from projects.models import LabelClass
from tasks.models import Task


def _image(organization, image_id: int | None) -> Task:
    if image_id is None:
        raise ValidationError({"image": ["image is required: the id of the image instance to annotate."]})
    task = selectors.image_tasks(organization).filter(pk=image_id).first()
    if task is None:
        raise ValidationError({"image": [f"No image instance with id {image_id}."]})
    return task


def _label(task: Task, data: dict, current: LabelClass | None = None) -> LabelClass | None:
    """The one term of a body (``term`` or ``terms``); ``current`` when the body names none."""
    if "term" in data and data["term"] is not None:
        field, ids = "term", data["term"]
    elif "terms" in data and data["terms"] is not None:
        field, ids = "terms", data["terms"]
    else:
        return current
    ids = list(dict.fromkeys(ids))
    if not ids:
        return None
    if len(ids) > 1:
        raise ValidationError({field: [f"One term per annotation here (got {len(ids)}); send one term id."]})
    label = LabelClass.objects.for_organization(task.organization_id).filter(pk=ids[0], project=task.project_id).first()
    if label is None:
        raise ValidationError({field: [f"No term {ids[0]} in the ontology of project {task.project_id}."]})
    return label


def _class(task: Task, label: LabelClass | None, field: str = "term") -> LabelClass:
    """Every one of our shapes has a class; a Cytomine annotation without a term gets the
    project's "unclassified" class (maskid 0) when it has one."""
    if label is not None:
        return label
    unclassified = LabelClass.objects.filter(project_id=task.project_id, maskid=UNCLASSIFIED_MASKID).first()
    if unclassified is None:
        names = ", ".join(
            f"{pk} ({name})"
            for pk, name in LabelClass.objects.filter(project_id=task.project_id).values_list("pk", "name")
        )
        raise ValidationError({field: [f"A term is required in project {task.project_id}; its terms are: {names}."]})
    return unclassified


def _shape(task: Task, location: str):
    try:
        return parse_location(location, task.frame_height)
    except InvalidLocation as exc:
        raise ValidationError({"location": [str(exc)]}) from None


def _same(current, outline) -> bool:
    if current is None or current.geom_type != outline.geom_type:
        return False
    return current.equals_exact(outline, 1e-6) or current.equals(outline)


@transaction.atomic
def add_annotation(*, actor, organization, data: dict) -> Annotation:
    """``POST /api/annotation.json``: one annotation from WKT on an image instance."""
    task = _image(organization, data.get("image"))
    if data.get("project") not in (None, task.project_id):
        raise ValidationError({"project": [f"Image {task.pk} belongs to project {task.project_id}."]})
    label = _class(task, _label(task, data))
    shape = _shape(task, data.get("location"))
    return adapters.save_shape(actor=actor, task=task, shape=shape, label=label)


@transaction.atomic
def edit_annotation(*, actor, annotation: Annotation, data: dict) -> Annotation:
    """``PUT /api/annotation/{id}.json``: a new location and/or term (the rest is read-only)."""
    task = _image(annotation.organization_id, annotation.task_id)
    if data.get("image") not in (None, task.pk):
        raise ValidationError({"image": ["An annotation cannot move to another image."]})
    label = _class(task, _label(task, data, current=annotation.label))
    if data.get("location"):
        if annotation.type not in LOCATED_TYPES:
            raise ValidationError(
                {"location": [f"Annotation {annotation.pk} is a {annotation.type}: it has no location."]}
            )
        shape = _shape(task, data["location"])
        current = stored_shape(annotation)
        if not _same(current, shape.outline):  # clients send back the location they fetched
            return adapters.save_shape(actor=actor, task=task, shape=shape, label=label, annotation=annotation)
    if label.pk != annotation.label_id:
        return adapters.relabel(actor=actor, annotation=annotation, label=label)
    return annotation


def delete_annotation(*, actor, annotation: Annotation) -> None:
    """``DELETE /api/annotation/{id}.json``."""
    adapters.delete_shape(actor=actor, annotation=annotation)
