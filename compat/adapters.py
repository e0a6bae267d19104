"""The one place where compat calls other apps' use cases.

Compat owns no data: Cytomine annotations are our annotations (written by
``annotations.services``), image windows are our frames (``media.selectors.frame_image``),
detection runs are the ml app's runs (``ml.services.inference``, ``ml.selectors``).

Annotation writes from Cytomine clients are ``manual`` annotations added to a task's set
through ``annotations.services.write_annotations`` (validated like every other shape, one
transaction, one new revision) and deleted through ``delete_annotations``. Cytomine has no
task locks, so a Cytomine write takes none; it is refused (423) while *someone else* holds a
live lock on the task, so their work never changes under them (the rule managers' restores
follow).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction

from annotations.models import Annotation, Source
from annotations.services import delete_annotations, write_annotations
from compat.wkt import Shape
from projects.models import LabelClass
from tasks.models import Task
from tasks.services.locks import refuse_if_locked_by_other

WRITE_ACTION = "cytomine"
# Their error keys (``shapes.0.<field>``) → the Cytomine body's field names.
FIELD_NAMES = {"geometry": "location", "class_name": "term", "type": "location", "frame_index": "image"}


def _cytomine_errors(exc: ValidationError) -> ValidationError:
    renamed: dict[str, list[str]] = {}
    for key, messages in exc.message_dict.items():
        parts = key.split(".")
        field = parts[2] if len(parts) > 2 and parts[0] == "shapes" else key
        renamed.setdefault(FIELD_NAMES.get(field, field), []).extend(messages)
    return ValidationError(renamed)


def _shape(shape: Shape, label: LabelClass, annotation: Annotation | None) -> dict[str, Any]:
    raw: dict[str, Any] = {"type": shape.type, "class_name": label.name, "geometry": shape.geometry, "frame_index": 0}
    if annotation is not None:
        raw.update(id=annotation.pk, attributes=annotation.attributes or {}, object_id=annotation.object_id)
    return raw


def save_shape(
    *, actor, task: Task, shape: Shape, label: LabelClass, annotation: Annotation | None = None
) -> Annotation:
    """Add one manual annotation on frame 0 of ``task`` (or replace ``annotation``'s shape)."""
    with transaction.atomic():
        locked = Task.objects.select_for_update(of=("self",)).select_related("locked_by").get(pk=task.pk)
        refuse_if_locked_by_other(locked, actor)
        try:
            result = write_annotations(
                locked, [_shape(shape, label, annotation)], source=Source.MANUAL, actor=actor, action=WRITE_ACTION
            )
        except ValidationError as exc:
            raise _cytomine_errors(exc) from None
    return result.annotations[0]


def relabel(*, actor, annotation: Annotation, label: LabelClass) -> Annotation:
    """Change only the term of an annotation: its own shape, sent back with the new class."""
    raw = {
        "id": annotation.pk,
        "type": annotation.type,
        "class_name": label.name,
        "geometry": annotation.geometry,
        "frame_index": annotation.frame_index,
        "attributes": annotation.attributes or {},
        "object_id": annotation.object_id,
    }
    with transaction.atomic():
        locked = Task.objects.select_for_update(of=("self",)).select_related("locked_by").get(pk=annotation.task_id)
        refuse_if_locked_by_other(locked, actor)
        try:
            result = write_annotations(locked, [raw], source=Source.MANUAL, actor=actor, action=WRITE_ACTION)
        except ValidationError as exc:
            raise _cytomine_errors(exc) from None
    return result.annotations[0]


def delete_shape(*, actor, annotation: Annotation) -> None:
    """Delete one annotation as a new revision of its task."""
    delete_annotations(annotation.task_id, [annotation.pk], actor=actor, lock="not_other", action=WRITE_ACTION)


# --- pictures --------------------------------------------------------------------------
class NoPicture(Exception):
    """The task has no decodable picture at that frame (media missing or not ingested)."""


def frame_pixels(task: Task, index: int = 0) -> np.ndarray:
    """The RGB ``uint8`` picture of frame ``index`` of ``task``."""
    from media.selectors import FrameNotFound, frame_image

    try:
        return frame_image(task, index)
    except FrameNotFound:
        raise NoPicture("its media is not ingested yet") from None
    except (OSError, ValueError) as exc:
        raise NoPicture(f"its stored file cannot be read ({exc})") from None
