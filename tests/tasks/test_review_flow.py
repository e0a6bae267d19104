"""Review workflow: reviewer queue, approve, return with a comment, manager acceptance, and
the project settings that shape it."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from organizations.roles import Role
from tasks.models import Comment, TaskClaim, TaskTransition
from tasks.services.claims import claim_next_review, claim_next_task
from tests.tasks.conftest import fresh, new_task, submit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("claim_path")]

A, R, M = Role.ANNOTATOR, Role.REVIEWER, Role.MANAGER


def _submitted(world, project, annotator_role=A, **kwargs):
    task = new_task(world, project, **kwargs)
    user = world.user(annotator_role)
    assert claim_next_task(user=user, project=project).pk == task.pk
    return submit(task, user)


def _review_next(world, role, project, **extra):
    return world.client(role).post("/api/v1/reviews/next", {"project_id": project.pk, **extra}, format="json")


def test_full_review_flow_submit_return_resubmit_approve_complete(world_a, project):
    annotator = world_a.user(A)
    task = _submitted(world_a, project)
    assert (fresh(task).status, fresh(task).annotator, fresh(task).locked_by) == ("submitted", annotator, None)

    claimed = _review_next(world_a, R, project).json()
    assert claimed["id"] == task.pk and claimed["status"] == "submitted"
    returned = world_a.client(R).post(
        f"/api/v1/tasks/{task.pk}/return",
        {"comment": "The dog's box is too tight.", "frame_index": 0, "position": {"x": 10, "y": 20}},
        format="json",
    )
    assert returned.status_code == 200, returned.json()
    assert returned.json()["status"] == "returned"
    assert returned.json()["assignee"]["username"] == annotator.username
    comment = Comment.objects.get(task=task)
    assert (comment.body, comment.frame_index, comment.position) == (
        "The dog's box is too tight.",
        0,
        {"x": 10, "y": 20},
    )

    again = world_a.client(A).post("/api/v1/tasks/next", {"project_id": project.pk}, format="json").json()
    assert again["id"] == task.pk and again["status"] == "in_progress"
    submit(task, annotator)

    assert _review_next(world_a, R, project).json()["id"] == task.pk
    approved = world_a.client(R).post(f"/api/v1/tasks/{task.pk}/approve", {"comment": "Good now."}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "reviewed"
    assert approved.json()["locked_by"] is None

    completed = world_a.client(M).post(f"/api/v1/tasks/{task.pk}/complete", {}, format="json")
    assert completed.status_code == 200 and completed.json()["status"] == "completed"
    assert fresh(task).completed_at is not None

    moves = list(TaskTransition.objects.filter(task=task).values_list("from_status", "to_status"))
    assert moves == [
        ("created", "in_progress"),
        ("in_progress", "submitted"),
        ("submitted", "returned"),
        ("returned", "in_progress"),
        ("in_progress", "submitted"),
        ("submitted", "reviewed"),
        ("reviewed", "completed"),
    ]
    history = world_a.client(A).get(f"/api/v1/tasks/{task.pk}/transitions").json()
    assert [row["to_status"] for row in history][-1] == "completed"
    assert history[2]["actor"]["username"] == world_a.user(R).username
    assert history[2]["reason"] == "The dog's box is too tight."
    statuses = AuditEvent.objects.filter(action="task.status_changed", object_id=str(task.pk))
    assert {event.after["status"] for event in statuses} >= {"submitted", "returned", "reviewed", "completed"}


def test_review_queue_is_204_when_nothing_is_submitted(world_a, project):
    new_task(world_a, project)
    response = _review_next(world_a, R, project)
    assert response.status_code == 204 and response.content == b""


def test_review_claim_is_locked_to_the_reviewer_and_repeats(world_a, project):
    task = _submitted(world_a, project)
    first = _review_next(world_a, R, project).json()
    assert first["locked_by"]["username"] == world_a.user(R).username
    assert _review_next(world_a, R, project).json()["id"] == task.pk
    assert _review_next(world_a, M, project).status_code == 204
    assert TaskClaim.objects.get(task=task, purpose="review").user == world_a.user(R)


def test_reviewer_never_gets_their_own_work_when_reviewer_must_differ(world_a, project):
    _submitted(world_a, project, annotator_role=M)
    assert project.reviewer_must_differ
    assert _review_next(world_a, M, project).status_code == 204
    assert _review_next(world_a, R, project).status_code == 200


def test_own_work_may_be_reviewed_when_the_project_allows_it(world_a, make_project):
    project = make_project(world_a, reviewer_must_differ=False)
    task = _submitted(world_a, project, annotator_role=M)
    assert _review_next(world_a, M, project).json()["id"] == task.pk
    assert world_a.client(M).post(f"/api/v1/tasks/{task.pk}/approve", {}, format="json").status_code == 200


def test_tasks_with_another_reviewer_assigned_are_not_handed_out(world_a, project):
    _submitted(world_a, project, reviewer=world_a.user(M))
    assert _review_next(world_a, R, project).status_code == 204
    assert _review_next(world_a, M, project).status_code == 200


def test_review_queue_orders_by_priority_then_oldest_submission(world_a, project):
    first = _submitted(world_a, project, priority=0)
    urgent = _submitted(world_a, project, priority=20)
    second = _submitted(world_a, project, priority=0)
    reviewers = [world_a.user(R), world_a.user(M), world_a.user(Role.ADMIN)]
    order = [claim_next_review(user=user, project=project).pk for user in reviewers]
    assert order == [urgent.pk, first.pk, second.pk]


def test_approve_needs_the_review_lock(world_a, project):
    task = _submitted(world_a, project)
    response = world_a.client(R).post(f"/api/v1/tasks/{task.pk}/approve", {}, format="json")
    assert response.status_code == 423
    assert response.json()["code"] == "lock_required"
    claim_next_review(user=world_a.user(M), project=project)
    response = world_a.client(R).post(f"/api/v1/tasks/{task.pk}/approve", {}, format="json")
    assert response.status_code == 423
    assert response.json()["locked_by"] == world_a.user(M).username


def test_approving_a_task_that_is_not_submitted_is_409_with_allowed_moves(world_a, project):
    task = new_task(world_a, project)
    response = world_a.client(R).post(f"/api/v1/tasks/{task.pk}/approve", {}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "illegal_transition"
    assert body["current_status"] == "created"
    assert body["allowed"] == ["assigned", "in_progress", "skipped"]


def test_return_needs_a_comment(world_a, project):
    task = _submitted(world_a, project)
    claim_next_review(user=world_a.user(R), project=project)
    for body in ({}, {"comment": ""}, {"comment": "   "}):
        response = world_a.client(R).post(f"/api/v1/tasks/{task.pk}/return", body, format="json")
        assert response.status_code == 400
        assert "comment" in response.json()["errors"]
    assert fresh(task).status == "submitted"


def test_return_with_a_position_but_no_frame_is_400(world_a, project):
    task = _submitted(world_a, project)
    claim_next_review(user=world_a.user(R), project=project)
    response = world_a.client(R).post(
        f"/api/v1/tasks/{task.pk}/return", {"comment": "x", "position": {"x": 1, "y": 1}}, format="json"
    )
    assert response.status_code == 400
    assert "frame_index" in response.json()["errors"]


def test_approval_completes_at_once_with_auto_complete_on_approve(world_a, make_project):
    project = make_project(world_a, auto_complete_on_approve=True)
    task = _submitted(world_a, project)
    claim_next_review(user=world_a.user(R), project=project)
    response = world_a.client(R).post(f"/api/v1/tasks/{task.pk}/approve", {}, format="json")
    assert response.json()["status"] == "completed"
    moves = list(TaskTransition.objects.filter(task=task).values_list("to_status", flat=True))
    assert moves[-2:] == ["reviewed", "completed"]


def test_submission_completes_at_once_when_review_is_not_required(world_a, make_project):
    project = make_project(world_a, review_required=False)
    task = _submitted(world_a, project)
    assert fresh(task).status == "completed"
    assert list(TaskTransition.objects.filter(task=task).values_list("to_status", flat=True)) == [
        "in_progress",
        "submitted",
        "completed",
    ]
    assert _review_next(world_a, R, project).status_code == 204


def test_reviewers_may_not_complete_and_annotators_may_not_review(world_a, project):
    task = _submitted(world_a, project)
    assert world_a.client(A).post("/api/v1/reviews/next", {"project_id": project.pk}, format="json").status_code == 403
    assert world_a.client(A).post(f"/api/v1/tasks/{task.pk}/approve", {}, format="json").status_code == 403
    claim_next_review(user=world_a.user(R), project=project)
    world_a.client(R).post(f"/api/v1/tasks/{task.pk}/approve", {}, format="json")
    response = world_a.client(R).post(f"/api/v1/tasks/{task.pk}/complete", {}, format="json")
    assert response.status_code == 403
    assert "Your role (reviewer) may not accept reviewed tasks" in response.json()["message"]


def test_a_manager_may_send_back_a_reviewed_task_but_a_reviewer_may_not(world_a, project):
    task = _submitted(world_a, project)
    claim_next_review(user=world_a.user(R), project=project)
    world_a.client(R).post(f"/api/v1/tasks/{task.pk}/approve", {}, format="json")
    denied = world_a.client(R).post(f"/api/v1/tasks/{task.pk}/return", {"comment": "hmm"}, format="json")
    assert denied.status_code == 403
    response = world_a.client(M).post(
        f"/api/v1/tasks/{task.pk}/return", {"comment": "Label the bike too."}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "returned"


def test_review_endpoints_answer_404_for_another_organizations_task(world_a, world_b, foreign_project):
    task = _submitted(world_b, foreign_project)
    for path in ("approve", "return", "complete", "skip", "transition", "lock"):
        response = world_a.client(Role.OWNER).post(f"/api/v1/tasks/{task.pk}/{path}", {}, format="json")
        assert response.status_code == 404, path
    assert (
        world_a.client(R).post("/api/v1/reviews/next", {"project_id": foreign_project.pk}, format="json").status_code
        == 404
    )


def test_annotation_on_another_task_cannot_anchor_a_return_comment(world_a, world_b, project, foreign_project):
    from annotations.models import Annotation

    task = _submitted(world_a, project)
    other = new_task(world_a, project)
    claim_next_review(user=world_a.user(R), project=project)
    mine = Annotation.objects.create(
        organization=world_a.org, task=other, project=project, type="bbox", frame_index=0, geometry={}
    )
    foreign_task = new_task(world_b, foreign_project)
    foreign = Annotation.objects.create(
        organization=world_b.org, task=foreign_task, project=foreign_project, type="bbox", frame_index=0, geometry={}
    )
    url = f"/api/v1/tasks/{task.pk}/return"
    response = world_a.client(R).post(url, {"comment": "x", "annotation_id": mine.pk}, format="json")
    assert response.status_code == 400 and "annotation_id" in response.json()["errors"]
    response = world_a.client(R).post(url, {"comment": "x", "annotation_id": foreign.pk}, format="json")
    assert response.status_code == 404
