"""Task locks: who may write to a task right now (30-minute, renewable).

The lock lives on the task row (``locked_by``, ``lock_expires_at``) so that taking it is one
row update inside the claim transaction; ``TaskClaim`` keeps its history. An expired lock is
free: the claim queries treat it so, and ``tasks.services.claims.expire_task_locks`` records
the expiry and gives the task back to its queue.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from annotator.api.errors import Locked
from tasks.models import Task, TaskClaim


def lock_duration() -> timedelta:
    return timedelta(minutes=settings.TASK_LOCK_MINUTES)


def lock_is_live(task: Task, now: datetime | None = None) -> bool:
    return (
        task.locked_by_id is not None
        and task.lock_expires_at is not None
        and task.lock_expires_at > (now or timezone.now())
    )


def holds_lock(task: Task, user) -> bool:
    return lock_is_live(task) and task.locked_by_id == getattr(user, "pk", None)


def locked_error(task: Task) -> Locked:
    """423 naming who holds the task's live lock and until when."""
    holder = task.locked_by.username if task.locked_by else "someone"
    return Locked(
        f"Task {task.pk} is locked by {holder} until {task.lock_expires_at.isoformat()}; you cannot change it now.",
        code="task_locked",
        locked_by=holder,
        lock_expires_at=task.lock_expires_at.isoformat(),
    )


def require_lock(task: Task, user) -> None:
    """Raise 423 unless ``user`` holds a live lock on ``task`` (says who holds it until when)."""
    if lock_is_live(task) and task.locked_by_id == user.pk:
        return
    if lock_is_live(task):
        raise locked_error(task)
    raise Locked(
        f"You do not hold a lock on task {task.pk}; claim it first (POST /api/v1/tasks/next or "
        f"POST /api/v1/reviews/next).",
        code="lock_required",
        locked_by=None,
        lock_expires_at=None,
    )


def refuse_if_locked_by_other(task: Task, user) -> None:
    """423 when someone else holds a live lock (their work must not change under them)."""
    if lock_is_live(task) and task.locked_by_id != getattr(user, "pk", None):
        raise locked_error(task)


def end_lock(task: Task, *, reason: str, at: datetime | None = None) -> list[str]:
    """Clear the task's lock and close its open claim; returns the task fields to save.

    The caller saves the task (inside its transaction). Nothing happens without a lock.
    """
    if task.locked_by_id is None and task.lock_expires_at is None:
        return []
    TaskClaim.objects.filter(task_id=task.pk, ended_at__isnull=True).update(
        ended_at=at or timezone.now(), end_reason=reason
    )
    task.locked_by = None
    task.lock_expires_at = None
    return ["locked_by", "lock_expires_at"]
