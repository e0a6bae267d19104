"""Each task endpoint, for each role: allowed where organizations.roles says so, 403 naming
the roles that may otherwise."""

from __future__ import annotations

import pytest

from organizations.roles import ROLE_ORDER, role_has
from tasks.services.claims import claim_next_review, claim_next_task
from tests.tasks.conftest import new_batch, new_task, submit

pytestmark = pytest.mark.django_db


def _submitted(world, project):
    task = new_task(world, project)
    claim_next_task(user=world.owner, project=project)
    return submit(task, world.owner)


# (permission, method, url builder, body builder)
CASES = [
    ("project.view", "get", lambda w, p: "/api/v1/tasks", None),
    ("project.view", "get", lambda w, p: f"/api/v1/tasks/{new_task(w, p).pk}", None),
    ("project.view", "get", lambda w, p: "/api/v1/tasks/count", None),
    ("project.view", "get", lambda w, p: "/api/v1/tasks/id-name-map", None),
    ("project.view", "get", lambda w, p: f"/api/v1/tasks/{new_task(w, p).pk}/transitions", None),
    ("project.view", "get", lambda w, p: f"/api/v1/tasks/{new_task(w, p).pk}/comments", None),
    ("project.view", "get", lambda w, p: f"/api/v1/projects/{p.pk}/batches", None),
    ("project.view", "get", lambda w, p: "/api/v1/tags", None),
    ("task.manage", "post", lambda w, p: "/api/v1/tasks", lambda w, p: {"project_id": p.pk, "name": "n"}),
    ("task.manage", "patch", lambda w, p: f"/api/v1/tasks/{new_task(w, p).pk}", lambda w, p: {"priority": 3}),
    ("task.manage", "delete", lambda w, p: f"/api/v1/tasks/{new_task(w, p).pk}", None),
    (
        "task.manage",
        "post",
        lambda w, p: "/api/v1/tasks/bulk",
        lambda w, p: {"task_ids": [new_task(w, p).pk], "priority": 1},
    ),
    (
        "task.manage",
        "post",
        lambda w, p: f"/api/v1/tasks/{new_task(w, p).pk}/transition",
        lambda w, p: {"status": "skipped"},
    ),
    (
        "task.manage",
        "post",
        lambda w, p: f"/api/v1/projects/{p.pk}/batches",
        lambda w, p: {"name": f"b{w.org.pk}-{new_task(w, p).pk}"},
    ),
    ("task.manage", "delete", lambda w, p: f"/api/v1/projects/{p.pk}/batches/{new_batch(w, p).pk}", None),
    ("task.manage", "get", lambda w, p: f"/api/v1/projects/{p.pk}/progress", None),
    ("task.annotate", "post", lambda w, p: "/api/v1/tasks/next", lambda w, p: {"project_id": p.pk}),
    ("task.review", "post", lambda w, p: "/api/v1/reviews/next", lambda w, p: {"project_id": p.pk}),
    ("task.complete", "post", lambda w, p: f"/api/v1/tasks/{_submitted(w, p).pk}/complete", lambda w, p: {}),
    ("comment.create", "post", lambda w, p: f"/api/v1/tasks/{new_task(w, p).pk}/comments", lambda w, p: {"body": "hi"}),
]


@pytest.mark.parametrize(
    "permission, method, url, body", CASES, ids=[f"{c[1]} {c[0]} {i}" for i, c in enumerate(CASES)]
)
def test_each_role_gets_exactly_what_the_matrix_says(world_a, project, permission, method, url, body):
    for role in ROLE_ORDER:
        path = url(world_a, project)
        data = body(world_a, project) if body else {}
        response = getattr(world_a.client(role), method)(path, data, format="json")
        if role_has(role, permission):
            assert response.status_code not in (403,) and response.status_code < 500, (role, path, response.content)
        else:
            assert response.status_code == 403, (role, path)
            assert f"Your role ({role}) may not" in response.json()["message"]


def test_review_moves_need_task_review(world_a, project):
    task = _submitted(world_a, project)
    claim_next_review(user=world_a.user("reviewer"), project=project)
    for path in ("approve", "return"):
        response = world_a.client("annotator").post(f"/api/v1/tasks/{task.pk}/{path}", {"comment": "c"}, format="json")
        assert response.status_code == 403
        assert "may not claim reviews, approve and return tasks" in response.json()["message"]
