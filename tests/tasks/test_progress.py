"""Managers' progress: counts by status per project, batch and person, and time spent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from organizations.roles import Role
from tasks.models import TaskClaim
from tasks.services.claims import claim_next_review, claim_next_task
from tasks.services.review import approve_task
from tests.tasks.conftest import new_batch, new_task, submit

pytestmark = pytest.mark.django_db

A, R = Role.ANNOTATOR, Role.REVIEWER


def test_progress_counts_by_status_batch_and_person_with_time_spent(world_a, project, django_assert_max_num_queries):
    annotator, reviewer = world_a.user(A), world_a.user(R)
    batch = new_batch(world_a, project, "Week 1")
    done = new_task(world_a, project, batch=batch, priority=10)
    new_task(world_a, project, batch=batch)
    new_task(world_a, project, assignee=annotator)
    claim_next_task(user=annotator, project=project)
    # Say the annotator worked on it for 12 minutes.
    TaskClaim.objects.filter(task=done).update(claimed_at=timezone.now() - timedelta(minutes=12))
    submit(done, annotator)
    claim_next_review(user=reviewer, project=project)
    TaskClaim.objects.filter(task=done, purpose="review").update(claimed_at=timezone.now() - timedelta(minutes=3))
    approve_task(actor=reviewer, task=done)

    with django_assert_max_num_queries(20):
        response = world_a.client(Role.MANAGER).get(f"/api/v1/projects/{project.pk}/progress")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 3
    assert body["by_status"] == {"reviewed": 1, "created": 1, "assigned": 1}
    week = next(b for b in body["batches"] if b["batch_id"] == batch.pk)
    assert week == {"batch_id": batch.pk, "name": "Week 1", "total": 2, "by_status": {"reviewed": 1, "created": 1}}
    no_batch = next(b for b in body["batches"] if b["batch_id"] is None)
    assert no_batch["total"] == 1
    people = {p["username"]: p for p in body["people"]}
    ann = people[annotator.username]
    assert ann["annotated"] == {"reviewed": 1}
    assert ann["assigned"] == {"assigned": 1}
    assert 11 * 60 <= ann["annotation_seconds"] <= 13 * 60
    assert ann["review_seconds"] == 0 and ann["holding"] == 0
    rev = people[reviewer.username]
    assert rev["review_decisions"] == 1
    assert 2 * 60 <= rev["review_seconds"] <= 4 * 60


def test_progress_of_another_organizations_project_is_404(world_a, foreign_project):
    assert world_a.client(Role.MANAGER).get(f"/api/v1/projects/{foreign_project.pk}/progress").status_code == 404
    assert world_a.client(Role.MANAGER).get("/api/v1/projects/99999999999999999999/progress").status_code == 404
