"""Live task events for the project's pages (over /ws/events/ project subscriptions)."""

from __future__ import annotations

from django.db import transaction

from jobs.events import project_group, publish
from tasks.models import Task


def publish_task_status(task: Task, *, previous: str | None = None) -> None:
    """After commit, tell the project's watchers that ``task`` changed status or holder."""
    event = {
        "type": "task",
        "event": "status",
        "task_id": task.pk,
        "project_id": task.project_id,
        "status": task.status,
        "previous_status": previous,
        "locked_by": task.locked_by.username if task.locked_by_id and task.locked_by else None,
        "lock_expires_at": task.lock_expires_at.isoformat() if task.lock_expires_at else None,
    }
    group = project_group(task.organization_id, task.project_id)
    transaction.on_commit(lambda: publish([group], event))
