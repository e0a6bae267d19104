"""Comments on tasks: optionally pinned to a frame and a position, or to an annotation of
the same task; resolvable."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import record_event
from tasks.models import Comment, Task


def _frame_count(task: Task) -> int:
    from media.models import Frame

    return Frame.objects.filter(task_id=task.pk).count()


@transaction.atomic
def add_comment(
    *,
    actor,
    task: Task,
    body: str,
    frame_index: int | None = None,
    position: dict | None = None,
    annotation=None,
) -> Comment:
    """Comment on ``task``. ``position`` ({"x", "y"} in pixels of the frame) needs a
    ``frame_index``; an ``annotation`` must belong to the same task."""
    if not body or not body.strip():
        raise ValidationError({"body": ["A comment needs some text."]})
    if position is not None and frame_index is None:
        raise ValidationError({"frame_index": ["A comment pinned to a position needs the frame it is on."]})
    if frame_index is not None:
        frames = _frame_count(task)
        if frames and frame_index >= frames:
            raise ValidationError(
                {"frame_index": [f"Task {task.pk} has {frames} frame(s); frame_index is 0-{frames - 1}."]}
            )
    if annotation is not None and annotation.task_id != task.pk:
        raise ValidationError({"annotation_id": [f"Annotation {annotation.pk} is not on task {task.pk}."]})
    comment = Comment(
        task=task, author=actor, body=body, frame_index=frame_index, position=position, annotation=annotation
    )
    comment.inherit_organization(task)
    comment.save()
    record_event(
        actor=actor,
        organization=task.organization_id,
        action="comment.created",
        target=comment,
        after={"task": task.pk, "frame_index": frame_index, "annotation": annotation.pk if annotation else None},
    )
    return comment


@transaction.atomic
def resolve_comment(*, actor, comment: Comment) -> Comment:
    """Mark a comment resolved (again: no change)."""
    if comment.resolved_at is None:
        comment.resolved_at = timezone.now()
        comment.resolved_by = actor
        comment.save(update_fields=["resolved_at", "resolved_by"])
        record_event(actor=actor, organization=comment.organization_id, action="comment.resolved", target=comment)
    return comment


@transaction.atomic
def unresolve_comment(*, actor, comment: Comment) -> Comment:
    """Open a resolved comment again (again: no change)."""
    if comment.resolved_at is not None:
        comment.resolved_at = None
        comment.resolved_by = None
        comment.save(update_fields=["resolved_at", "resolved_by"])
        record_event(actor=actor, organization=comment.organization_id, action="comment.unresolved", target=comment)
    return comment
