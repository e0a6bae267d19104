"""Batches under /api/v1/projects/{project_pk}/batches."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from organizations.roles import Role
from tasks.models import Batch
from tests.tasks.conftest import fresh, new_batch, new_task

pytestmark = pytest.mark.django_db

M = Role.MANAGER


def test_manager_creates_lists_renames_and_deletes_a_batch(world_a, project):
    url = f"/api/v1/projects/{project.pk}/batches"
    created = world_a.client(M).post(url, {"name": "Week 1", "description": "first drop"}, format="json")
    assert created.status_code == 201, created.json()
    batch_id = created.json()["id"]
    task = new_task(world_a, project, batch=Batch.objects.get(pk=batch_id))
    listed = world_a.client(Role.ANNOTATOR).get(url).json()
    assert listed["count"] == 1
    assert listed["results"][0] == {**created.json(), "task_count": 1}
    renamed = world_a.client(M).patch(f"{url}/{batch_id}", {"name": "Week one"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Week one"
    assert world_a.client(M).delete(f"{url}/{batch_id}").status_code == 204
    assert fresh(task).batch is None
    actions = set(AuditEvent.objects.filter(object_type="tasks.batch").values_list("action", flat=True))
    assert actions == {"batch.created", "batch.updated", "batch.deleted"}


def test_batch_names_are_unique_in_a_project(world_a, project, make_project):
    new_batch(world_a, project, "Week 1")
    url = f"/api/v1/projects/{project.pk}/batches"
    response = world_a.client(M).post(url, {"name": "Week 1"}, format="json")
    assert response.status_code == 400
    assert "already has a batch named" in response.json()["errors"]["name"][0]
    other = make_project(world_a)
    assert (
        world_a.client(M).post(f"/api/v1/projects/{other.pk}/batches", {"name": "Week 1"}, format="json").status_code
        == 201
    )


@pytest.mark.parametrize(
    "body, field",
    [({}, "name"), ({"name": ""}, "name"), ({"name": "x" * 201}, "name"), ({"name": "a", "kind": 1}, "kind")],
)
def test_bad_batch_bodies_are_400(world_a, project, body, field):
    response = world_a.client(M).post(f"/api/v1/projects/{project.pk}/batches", body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.ANNOTATOR])
def test_only_managers_change_batches(world_a, project, role):
    batch = new_batch(world_a, project)
    url = f"/api/v1/projects/{project.pk}/batches"
    client = world_a.client(role)
    assert client.get(url).status_code == 200
    for response in (
        client.post(url, {"name": "x"}, format="json"),
        client.patch(f"{url}/{batch.pk}", {"name": "y"}, format="json"),
        client.delete(f"{url}/{batch.pk}"),
    ):
        assert response.status_code == 403


def test_another_organizations_batch_is_404_and_a_batch_of_another_project_too(
    world_a, world_b, project, foreign_project
):
    foreign = new_batch(world_b, foreign_project)
    client = world_a.client()
    assert client.get(f"/api/v1/projects/{foreign_project.pk}/batches").status_code == 404
    assert client.get(f"/api/v1/projects/{foreign_project.pk}/batches/{foreign.pk}").status_code == 404
    assert client.get(f"/api/v1/projects/{project.pk}/batches/{foreign.pk}").status_code == 404
    assert client.delete(f"/api/v1/projects/{project.pk}/batches/{foreign.pk}").status_code == 404
    assert Batch.objects.filter(pk=foreign.pk).exists()
