"""Task status moves: checked against ``tasks.models.TRANSITIONS``, recorded, audited."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from annotator.api.errors import Conflict
from audit.services import record_event
from tasks.models import TRANSITIONS, Task, TaskStatus, TaskTransition


def allowed_moves(status: str) -> list[str]:
    return sorted(TRANSITIONS.get(status, ()))


@transaction.atomic
def transition_task(task: Task, to_status: str, *, actor, reason: str = "") -> Task:
    """Move ``task`` to ``to_status`` or raise 409 naming the current status and allowed moves.

    The caller holds the task row (select_for_update) when concurrency matters.
    """
    if to_status == task.status:
        return task
    if to_status not in TRANSITIONS.get(task.status, ()):
        raise Conflict(
            f"A task that is '{task.status}' cannot become '{to_status}'. "
            f"Allowed from '{task.status}': {', '.join(allowed_moves(task.status)) or 'none'}.",
            code="illegal_transition",
            current_status=task.status,
            allowed=allowed_moves(task.status),
        )
    previous = task.status
    task.status = to_status
    now = timezone.now()
    fields = ["status", "updated_at"]
    if to_status == TaskStatus.SUBMITTED:
        task.submitted_at = now
        fields.append("submitted_at")
    if to_status == TaskStatus.COMPLETED:
        task.completed_at = now
        fields.append("completed_at")
    task.save(update_fields=fields)
    TaskTransition.objects.create(
        organization_id=task.organization_id,
        task=task,
        from_status=previous,
        to_status=to_status,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        reason=reason,
    )
    record_event(
        actor=actor,
        organization=task.organization_id,
        action="task.status_changed",
        target=task,
        before={"status": previous},
        after={"status": to_status, "reason": reason} if reason else {"status": to_status},
    )
    return task
