"""Task status moves: checked against ``tasks.models.TRANSITIONS``, recorded, audited.

``transition_task`` is the one entry point every app uses to move a task. Besides the move
itself it applies the workflow rules that follow from a move, so callers never repeat them:

* a move out of a status ends the lock held for it (submit, approve, return and skip release
  the holder's lock; the lock's history row records why);
* ``submitted`` records who annotated the task (``Task.annotator``);
* ``submitted`` continues to ``completed`` when the project does not require review;
* ``reviewed`` continues to ``completed`` when the project completes approved tasks itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from annotator.api.errors import Conflict
from audit.services import record_event
from tasks.events import publish_task_status
from tasks.models import TRANSITIONS, Task, TaskStatus, TaskTransition
from tasks.services.locks import end_lock


def allowed_moves(status: str) -> list[str]:
    return sorted(TRANSITIONS.get(status, ()))


def check_move(task: Task, to_status: str) -> None:
    """Raise 409 naming the current status and the allowed moves unless the move is allowed."""
    if to_status != task.status and to_status not in TRANSITIONS.get(task.status, ()):
        raise Conflict(
            f"A task that is '{task.status}' cannot become '{to_status}'. "
            f"Allowed from '{task.status}': {', '.join(allowed_moves(task.status)) or 'none'}.",
            code="illegal_transition",
            current_status=task.status,
            allowed=allowed_moves(task.status),
        )


def _user_or_none(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def move_task(
    task: Task,
    to_status: str,
    *,
    actor,
    reason: str = "",
    also_save: Iterable[str] = (),
    audit: bool = True,
) -> Task:
    """Checked move without the workflow follow-ups (the claim and lock services use it).

    Saves ``status`` (and ``also_save``) and records the ``TaskTransition``; the caller is
    inside a transaction and holds the row.
    """
    check_move(task, to_status)
    previous = task.status
    fields = {"status", "updated_at", *also_save}
    if to_status == previous:
        task.save(update_fields=sorted(fields - {"status"}))
        return task
    task.status = to_status
    now = timezone.now()
    if to_status == TaskStatus.SUBMITTED:
        task.submitted_at = now
        fields.add("submitted_at")
    if to_status == TaskStatus.COMPLETED:
        task.completed_at = now
        fields.add("completed_at")
    task.save(update_fields=sorted(fields))
    publish_task_status(task, previous=previous)
    TaskTransition.objects.create(
        organization_id=task.organization_id,
        task=task,
        from_status=previous,
        to_status=to_status,
        actor=_user_or_none(actor),
        reason=reason,
    )
    if audit:
        record_event(
            actor=actor,
            organization=task.organization_id,
            action="task.status_changed",
            target=task,
            before={"status": previous},
            after={"status": to_status, "reason": reason} if reason else {"status": to_status},
        )
    return task


def _follow_up(task: Task) -> tuple[str, str] | None:
    project = task.project
    if task.status == TaskStatus.SUBMITTED and not project.review_required:
        return TaskStatus.COMPLETED, "The project does not require review."
    if task.status == TaskStatus.REVIEWED and project.auto_complete_on_approve:
        return TaskStatus.COMPLETED, "The project completes approved tasks automatically."
    return None


@transaction.atomic
def transition_task(task: Task, to_status: str, *, actor, reason: str = "") -> Task:
    """Move ``task`` to ``to_status`` or raise 409 naming the current status and allowed moves.

    The caller holds the task row (select_for_update) when concurrency matters. The move ends
    the task's lock (if any), and the project's workflow may carry the task on (see the module
    docstring): the returned task has its final status.
    """
    if to_status == task.status:
        return task
    check_move(task, to_status)
    fields: list[str] = []
    if to_status == TaskStatus.SUBMITTED:
        holder = task.locked_by if task.locked_by_id else _user_or_none(actor)
        task.annotator = holder
        fields.append("annotator")
    fields += end_lock(task, reason="status_changed")
    move_task(task, to_status, actor=actor, reason=reason, also_save=fields)
    follow_up = _follow_up(task)
    if follow_up is not None:
        move_task(task, follow_up[0], actor=actor, reason=follow_up[1])
    return task
