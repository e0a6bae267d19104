"""Next task: who gets which task, in which order, locked for how long; renew and release."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from organizations.roles import Role
from tasks.models import Task, TaskClaim, TaskStatus, TaskTransition
from tasks.services.claims import claim_next_task
from tasks.services.review import return_task
from tasks.services.tasks import update_task
from tests.tasks.conftest import fresh, new_batch, new_task, submit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("claim_path")]

A, R = Role.ANNOTATOR, Role.REVIEWER


def _next(world, role, project, **extra):
    return world.client(role).post("/api/v1/tasks/next", {"project_id": project.pk, **extra}, format="json")


def _expire(task):
    Task.objects.filter(pk=task.pk).update(lock_expires_at=timezone.now() - timedelta(seconds=1))


def test_next_task_locks_it_to_the_caller_for_30_minutes_and_starts_it(world_a, project, settings):
    settings.TASK_LOCK_MINUTES = 30
    task = new_task(world_a, project)
    before = timezone.now()
    response = world_a.client(A).post(
        "/api/v1/tasks/next", {"project_id": project.pk}, format="json", HTTP_X_REQUEST_ID="req-claim-1"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == task.pk
    assert body["status"] == "in_progress"
    assert body["locked_by"]["username"] == world_a.user(A).username
    assert "video_metadata" in body and body["video_metadata"] is None
    task = fresh(task)
    assert task.locked_by == world_a.user(A)
    assert timedelta(minutes=29, seconds=59) < task.lock_expires_at - before < timedelta(minutes=30, seconds=5)
    transition = TaskTransition.objects.get(task=task)
    assert (transition.from_status, transition.to_status, transition.actor) == (
        "created",
        "in_progress",
        task.locked_by,
    )
    event = AuditEvent.objects.get(action="task.claimed", object_id=str(task.pk))
    assert (event.actor, event.request_id, event.object_type, event.object_repr) == (
        task.locked_by,
        "req-claim-1",
        "tasks.task",
        task.name,
    )
    assert event.before == {"status": "created"}
    assert event.after == {
        "status": "in_progress",
        "locked_by": task.locked_by.username,
        "lock_expires_at": task.lock_expires_at.isoformat(),
    }
    claim = TaskClaim.objects.get(task=task)
    assert claim.user == world_a.user(A) and claim.status_before == "created" and claim.ended_at is None


def test_lock_duration_is_a_setting(world_a, project, settings):
    settings.TASK_LOCK_MINUTES = 5
    new_task(world_a, project)
    task = Task.objects.get(pk=_next(world_a, A, project).json()["id"])
    assert task.lock_expires_at - timezone.now() < timedelta(minutes=5, seconds=1)


def test_same_caller_asking_again_gets_the_same_task(world_a, project):
    new_task(world_a, project)
    new_task(world_a, project)
    first = _next(world_a, A, project).json()
    again = _next(world_a, A, project).json()
    assert again["id"] == first["id"]
    assert again["lock_expires_at"] == first["lock_expires_at"]  # asking again does not extend
    assert TaskClaim.objects.filter(user=world_a.user(A)).count() == 1


def test_second_annotator_never_gets_a_locked_task(world_a, project):
    new_task(world_a, project)
    assert _next(world_a, A, project).status_code == 200
    response = _next(world_a, Role.MANAGER, project)
    assert response.status_code == 204
    assert response.content == b""


def test_nothing_available_is_204_with_no_body(world_a, project):
    response = _next(world_a, A, project)
    assert response.status_code == 204 and response.content == b""


def test_highest_priority_first_then_oldest(world_a, project):
    low = new_task(world_a, project, priority=0)
    old_high = new_task(world_a, project, priority=30)
    new_high = new_task(world_a, project, priority=30)
    order = [claim_next_task(user=u, project=project).pk for u in _users(world_a, 3)]
    assert order == [old_high.pk, new_high.pk, low.pk]


def _users(world, n):
    from organizations.services import add_member
    from tests.conftest import PASSWORD

    return [
        add_member(
            actor=world.owner, organization=world.org, username=f"ann-{world.org.pk}-{i}", role=A, password=PASSWORD
        )[0].user
        for i in range(n)
    ]


def test_tasks_assigned_to_someone_else_are_not_handed_out(world_a, project):
    theirs = new_task(world_a, project, priority=50, assignee=world_a.user(Role.MANAGER))
    mine = new_task(world_a, project, priority=10, assignee=world_a.user(A))
    anyone = new_task(world_a, project, priority=0)
    annotator = world_a.user(A)
    assert claim_next_task(user=annotator, project=project).pk == mine.pk
    submit(mine, annotator)
    assert claim_next_task(user=annotator, project=project).pk == anyone.pk
    submit(anyone, annotator)
    assert claim_next_task(user=annotator, project=project) is None
    assert claim_next_task(user=world_a.user(Role.MANAGER), project=project).pk == theirs.pk


def test_returned_tasks_come_back_first_to_their_annotator(world_a, project):
    annotator, reviewer = world_a.user(A), world_a.user(R)
    first = new_task(world_a, project, priority=0)
    claim_next_task(user=annotator, project=project)
    submit(first, annotator)
    urgent = new_task(world_a, project, priority=99)
    from tasks.services.claims import claim_next_review

    assert claim_next_review(user=reviewer, project=project).pk == first.pk
    return_task(actor=reviewer, task=first, comment="The car on the left is missing.")
    # Someone else is not given the returned task; its annotator gets it before the urgent one.
    assert claim_next_task(user=world_a.user(Role.MANAGER), project=project).pk == urgent.pk
    again = claim_next_task(user=annotator, project=project)
    assert again.pk == first.pk and again.status == "in_progress"


def test_batch_id_limits_the_claim_to_that_batch(world_a, project):
    batch = new_batch(world_a, project)
    new_task(world_a, project, priority=99)
    in_batch = new_task(world_a, project, batch=batch)
    response = _next(world_a, A, project, batch_id=batch.pk)
    assert response.json()["id"] == in_batch.pk
    assert _next(world_a, Role.MANAGER, project, batch_id=batch.pk).status_code == 204


def test_an_expired_lock_is_free_for_the_next_caller_without_a_sweep(world_a, project):
    task = new_task(world_a, project)
    _next(world_a, A, project)
    _expire(task)
    response = _next(world_a, Role.MANAGER, project)
    assert response.json()["id"] == task.pk
    claims = list(TaskClaim.objects.filter(task=task).order_by("id"))
    assert [c.end_reason for c in claims] == ["expired", ""]
    assert claims[0].ended_at == claims[0].claimed_at  # counted until its last sign of life
    assert claims[1].status_before == "created"  # a later release still gives it back to "created"
    expiry = AuditEvent.objects.get(action="task.lock_expired", object_id=str(task.pk))
    assert expiry.actor is None
    assert expiry.before["locked_by"] == world_a.user(A).username and expiry.before["purpose"] == "annotate"


def test_in_progress_task_taken_over_after_expiry_keeps_its_origin(world_a, project):
    task = new_task(world_a, project)
    claim_next_task(user=world_a.user(A), project=project)
    _expire(task)
    claim_next_task(user=world_a.user(Role.MANAGER), project=project)
    response = world_a.client(Role.MANAGER).delete(f"/api/v1/tasks/{task.pk}/lock")
    assert response.status_code == 204
    assert fresh(task).status == "created"


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "project_id"),
        ({"project_id": "x"}, "project_id"),
        ({"project_id": 0}, "project_id"),
        ({"project_id": 1, "batch_id": "b"}, "batch_id"),
        ({"project_id": 1, "colour": 1}, "colour"),
    ],
)
def test_bad_next_task_bodies_are_400_naming_the_field(world_a, body, field):
    response = world_a.client(A).post("/api/v1/tasks/next", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert response.json()["code"] == "invalid"


def test_another_organizations_project_or_batch_is_404(world_a, world_b, project, foreign_project):
    new_task(world_b, foreign_project)
    assert _next(world_a, A, foreign_project).status_code == 404
    foreign_batch = new_batch(world_b, foreign_project)
    response = _next(world_a, A, project, batch_id=foreign_batch.pk)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_batch_of_another_project_is_404(world_a, project, make_project):
    other = make_project(world_a)
    batch = new_batch(world_a, other)
    assert _next(world_a, A, project, batch_id=batch.pk).status_code == 404


def test_reviewers_may_not_claim_annotation_work(world_a, project):
    new_task(world_a, project)
    response = _next(world_a, R, project)
    assert response.status_code == 403
    assert "Your role (reviewer) may not claim tasks" in response.json()["message"]


# --- renew and release ----------------------------------------------------------------------
def test_holder_renews_the_lock_for_another_full_period(world_a, project):
    task = new_task(world_a, project)
    _next(world_a, A, project)
    Task.objects.filter(pk=task.pk).update(lock_expires_at=timezone.now() + timedelta(minutes=1))
    response = world_a.client(A).post(f"/api/v1/tasks/{task.pk}/lock")
    assert response.status_code == 200
    assert response.json()["task_id"] == task.pk
    assert fresh(task).lock_expires_at > timezone.now() + timedelta(minutes=29)
    assert TaskClaim.objects.get(task=task).last_renewed_at is not None
    assert AuditEvent.objects.filter(action="task.lock_renewed").exists()


def test_someone_else_cannot_renew_and_is_told_who_holds_it_until_when(world_a, project):
    task = new_task(world_a, project)
    _next(world_a, A, project)
    response = world_a.client(Role.MANAGER).post(f"/api/v1/tasks/{task.pk}/lock")
    assert response.status_code == 423
    body = response.json()
    assert body["code"] == "task_locked"
    assert body["locked_by"] == world_a.user(A).username
    assert body["lock_expires_at"] == fresh(task).lock_expires_at.isoformat()
    assert world_a.user(A).username in body["message"]


def test_renewing_a_task_nobody_holds_says_claim_it_first(world_a, project):
    task = new_task(world_a, project)
    response = world_a.client(A).post(f"/api/v1/tasks/{task.pk}/lock")
    assert response.status_code == 423
    assert response.json()["code"] == "lock_required"


def test_holder_may_renew_an_expired_lock_nobody_took(world_a, project):
    task = new_task(world_a, project)
    _next(world_a, A, project)
    _expire(task)
    assert world_a.client(A).post(f"/api/v1/tasks/{task.pk}/lock").status_code == 200


def test_release_gives_the_task_back_to_its_queue(world_a, project):
    task = new_task(world_a, project, assignee=world_a.user(A))
    _next(world_a, A, project)
    response = world_a.client(A).delete(f"/api/v1/tasks/{task.pk}/lock")
    assert response.status_code == 204
    task = fresh(task)
    assert (task.status, task.locked_by, task.lock_expires_at) == ("assigned", None, None)
    assert TaskClaim.objects.get(task=task).end_reason == "released"
    assert AuditEvent.objects.filter(action="task.lock_released", object_id=str(task.pk)).exists()
    assert _next(world_a, A, project).json()["id"] == task.pk


def test_nobody_but_the_holder_or_a_manager_may_release(world_a, project, make_project):
    task = new_task(world_a, project)
    claim_next_task(user=world_a.user(Role.MANAGER), project=project)
    response = world_a.client(R).delete(f"/api/v1/tasks/{task.pk}/lock")
    assert response.status_code == 423
    assert fresh(task).locked_by == world_a.user(Role.MANAGER)
    assert world_a.client(Role.ADMIN).delete(f"/api/v1/tasks/{task.pk}/lock").status_code == 204
    assert TaskClaim.objects.get(task=task).end_reason == "broken"


def test_releasing_a_free_task_does_nothing(world_a, project):
    task = new_task(world_a, project)
    assert world_a.client(A).delete(f"/api/v1/tasks/{task.pk}/lock").status_code == 204
    assert fresh(task).status == "created"


def test_release_of_a_returned_task_gives_it_back_to_its_annotator(world_a, project):
    annotator, reviewer = world_a.user(A), world_a.user(R)
    task = new_task(world_a, project)
    claim_next_task(user=annotator, project=project)
    submit(task, annotator)
    from tasks.services.claims import claim_next_review

    claim_next_review(user=reviewer, project=project)
    return_task(actor=reviewer, task=task, comment="Fix the box.")
    claim_next_task(user=annotator, project=project)
    world_a.client(A).delete(f"/api/v1/tasks/{task.pk}/lock")
    task = fresh(task)
    assert (task.status, task.assignee) == (TaskStatus.RETURNED, annotator)


def test_assigning_a_task_someone_holds_leaves_their_lock(world_a, project):
    task = new_task(world_a, project)
    claim_next_task(user=world_a.user(A), project=project)
    update_task(actor=world_a.owner, task=task, assignee=world_a.user(Role.MANAGER))
    assert fresh(task).locked_by == world_a.user(A)
