"""Task locks: who may write to a task right now (30-minute, renewable)."""

from __future__ import annotations

from django.utils import timezone

from annotator.api.errors import Locked
from tasks.models import Task


def lock_is_live(task: Task) -> bool:
    return task.locked_by_id is not None and task.lock_expires_at is not None and task.lock_expires_at > timezone.now()


def require_lock(task: Task, user) -> None:
    """Raise 423 unless ``user`` holds a live lock on ``task`` (says who holds it until when)."""
    if lock_is_live(task) and task.locked_by_id == user.pk:
        return
    if lock_is_live(task):
        holder = task.locked_by.username if task.locked_by else "someone"
        raise Locked(
            f"Task {task.pk} is locked by {holder} until {task.lock_expires_at.isoformat()}; you cannot change it now.",
            code="task_locked",
            locked_by=holder,
            lock_expires_at=task.lock_expires_at.isoformat(),
        )
    raise Locked(
        f"You do not hold a lock on task {task.pk}; claim it first (POST /api/v1/tasks/next or "
        f"POST /api/v1/tasks/{task.pk}/lock).",
        code="lock_required",
        locked_by=None,
        lock_expires_at=None,
    )
