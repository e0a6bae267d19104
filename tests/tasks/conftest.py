"""Helpers for the task tests: tasks and batches built through the services."""

from __future__ import annotations

import itertools

import pytest

from tasks.models import Task
from tasks.services.lifecycle import transition_task
from tasks.services.locks import require_lock
from tasks.services.tasks import create_batch, create_task

_names = itertools.count(1)


def new_task(world, project, name: str | None = None, **kwargs) -> Task:
    return create_task(actor=world.owner, project=project, name=name or f"task-{next(_names)}.jpg", **kwargs)


def new_batch(world, project, name: str | None = None):
    return create_batch(actor=world.owner, project=project, name=name or f"batch-{next(_names)}")


def submit(task: Task, user) -> Task:
    """What the annotations API does on submit: the holder's lock is required, then the move."""
    task = Task.objects.select_related("locked_by").get(pk=task.pk)
    require_lock(task, user)
    return transition_task(task, "submitted", actor=user)


def fresh(task: Task) -> Task:
    return Task.objects.get(pk=task.pk)


@pytest.fixture(params=["one_statement", "compare_and_set"])
def claim_path(request, monkeypatch):
    """Run a test on both claim implementations: PostgreSQL's single statement
    (SKIP LOCKED) and the ORM compare-and-set used where SKIP LOCKED is missing (SQLite)."""
    from tasks.services import claims

    if request.param == "compare_and_set":
        monkeypatch.setattr(claims, "uses_skip_locked", lambda: False)
    return request.param


@pytest.fixture
def project(world_a, make_project):
    return make_project(world_a, kind="image", name="Street scenes")


@pytest.fixture
def foreign_project(world_b, make_project):
    return make_project(world_b, kind="image", name="Other org's project")
