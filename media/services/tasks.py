"""The tasks media ingest creates, and the live event that announces them."""

from __future__ import annotations

from django.db import transaction

from jobs.events import project_group, publish
from projects.models import Project


def create_media_task(*, actor, project: Project, name: str, batch=None, text: str = ""):
    """Create the task a group of files becomes, through the tasks app (status, audit)."""
    from tasks.services.tasks import create_task

    return create_task(actor=actor, project=project, name=name[:500] or "untitled", batch=batch, text=text)


def publish_task_created(task) -> None:
    event = {
        "type": "task",
        "event": "created",
        "task_id": task.pk,
        "project_id": task.project_id,
        "name": task.name,
        "status": task.status,
    }
    transaction.on_commit(lambda: publish([project_group(task.organization_id, task.project_id)], event))
