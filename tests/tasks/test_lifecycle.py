"""The lifecycle table: every move checked, recorded and audited; illegal moves are 409 with
the current status and the allowed moves; manager moves and skipping."""

from __future__ import annotations

import itertools

import pytest

from annotator.api.errors import Conflict
from audit.models import AuditEvent
from organizations.roles import Role
from tasks.models import TRANSITIONS, Task, TaskClaim, TaskStatus, TaskTransition
from tasks.services.claims import claim_next_task
from tasks.services.lifecycle import allowed_moves, transition_task
from tests.tasks.conftest import fresh, new_task, submit

pytestmark = pytest.mark.django_db

A, M = Role.ANNOTATOR, Role.MANAGER


def test_every_status_has_a_row_in_the_table_and_moves_stay_inside_it():
    statuses = {status.value for status in TaskStatus}
    assert set(TRANSITIONS) == statuses
    for destinations in TRANSITIONS.values():
        assert destinations <= statuses


def test_the_lifecycle_path_and_its_side_roads_are_allowed():
    path = ["created", "assigned", "in_progress", "submitted", "reviewed", "completed"]
    for here, there in itertools.pairwise(path):
        assert there in TRANSITIONS[here]
    assert "returned" in TRANSITIONS["submitted"] and "in_progress" in TRANSITIONS["returned"]
    assert "skipped" in TRANSITIONS["in_progress"]


@pytest.mark.parametrize(
    "start, illegal",
    [("created", "completed"), ("created", "reviewed"), ("reviewed", "submitted"), ("skipped", "completed")],
)
def test_illegal_moves_raise_409_naming_current_status_and_allowed_moves(world_a, project, start, illegal):
    task = new_task(world_a, project)
    Task.objects.filter(pk=task.pk).update(status=start)
    task = fresh(task)
    with pytest.raises(Conflict) as error:
        transition_task(task, illegal, actor=world_a.owner)
    assert error.value.extra == {"current_status": start, "allowed": allowed_moves(start)}
    assert fresh(task).status == start
    assert not TaskTransition.objects.filter(task=task).exists()


def test_a_move_is_recorded_with_who_when_why_and_audited(world_a, project):
    task = new_task(world_a, project)
    transition_task(task, "skipped", actor=world_a.owner, reason="blurry image")
    row = TaskTransition.objects.get(task=task)
    assert (row.from_status, row.to_status, row.actor, row.reason) == (
        "created",
        "skipped",
        world_a.owner,
        "blurry image",
    )
    assert row.created_at is not None
    event = AuditEvent.objects.get(action="task.status_changed", object_id=str(task.pk))
    assert event.before == {"status": "created"}
    assert event.after == {"status": "skipped", "reason": "blurry image"}
    assert event.actor == world_a.owner


def test_submitting_releases_the_lock_and_records_the_annotator(world_a, project):
    task = new_task(world_a, project)
    claim_next_task(user=world_a.user(A), project=project)
    task = submit(task, world_a.user(A))
    task = fresh(task)
    assert (task.status, task.locked_by, task.lock_expires_at, task.annotator) == (
        "submitted",
        None,
        None,
        world_a.user(A),
    )
    assert task.submitted_at is not None
    claim = TaskClaim.objects.get(task=task)
    assert claim.end_reason == "status_changed" and claim.ended_at is not None


def test_manager_moves_a_task_through_the_transition_endpoint(world_a, project):
    task = new_task(world_a, project)
    response = world_a.client(M).post(
        f"/api/v1/tasks/{task.pk}/transition", {"status": "skipped", "reason": "duplicate"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "skipped"
    assert response.json()["allowed_transitions"] == ["assigned", "created", "in_progress"]
    reopened = world_a.client(M).post(f"/api/v1/tasks/{task.pk}/transition", {"status": "created"}, format="json")
    assert reopened.json()["status"] == "created"


def test_illegal_move_through_the_api_is_409_with_current_status_and_allowed(world_a, project):
    task = new_task(world_a, project)
    response = world_a.client(M).post(f"/api/v1/tasks/{task.pk}/transition", {"status": "completed"}, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "message": (
            "A task that is 'created' cannot become 'completed'. "
            "Allowed from 'created': assigned, in_progress, skipped."
        ),
        "code": "illegal_transition",
        "current_status": "created",
        "allowed": ["assigned", "in_progress", "skipped"],
    }


@pytest.mark.parametrize("body", [{}, {"status": "done"}, {"status": "skipped", "reason": "r" * 5001}])
def test_bad_transition_bodies_are_400(world_a, project, body):
    task = new_task(world_a, project)
    response = world_a.client(M).post(f"/api/v1/tasks/{task.pk}/transition", body, format="json")
    assert response.status_code == 400


def test_manager_cannot_move_a_task_someone_else_holds(world_a, project):
    task = new_task(world_a, project)
    claim_next_task(user=world_a.user(A), project=project)
    response = world_a.client(M).post(f"/api/v1/tasks/{task.pk}/transition", {"status": "skipped"}, format="json")
    assert response.status_code == 423
    assert response.json()["locked_by"] == world_a.user(A).username
    assert fresh(task).status == "in_progress"


def test_annotator_skips_the_task_they_hold(world_a, project):
    task = new_task(world_a, project)
    other = new_task(world_a, project)
    claim_next_task(user=world_a.user(A), project=project)
    response = world_a.client(A).post(f"/api/v1/tasks/{task.pk}/skip", {"reason": "corrupt"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "skipped"
    assert fresh(task).locked_by is None
    assert world_a.client(A).post(f"/api/v1/tasks/{other.pk}/skip", {}, format="json").status_code == 423
    assert world_a.client(Role.REVIEWER).post(f"/api/v1/tasks/{other.pk}/skip", {}, format="json").status_code == 403
