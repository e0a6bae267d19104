"""Projects: create, list (constant queries), rename/settings, copy, delete with file purge."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from audit.models import AuditEvent
from jobs.models import Job
from projects.models import Project
from tests.conftest import DEFAULT_LABELS

pytestmark = pytest.mark.django_db


def test_create_project_reports_kind_capabilities(world_a):
    response = world_a.client("manager").post("/api/v1/projects", {"name": "Streets", "kind": "video"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["framed"] is True
    assert "video_track" in body["annotation_types"]
    assert body["created_by"] == world_a.user("manager").username
    assert AuditEvent.objects.filter(action="project.created", object_id=str(body["id"])).exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "x", "kind": "audio"}, "kind"),
        ({"kind": "image"}, "name"),
        ({"name": "x" * 201, "kind": "image"}, "name"),
        ({"name": "x", "kind": "image", "review_required": "maybe"}, "review_required"),
        ({"name": "x", "kind": "image", "template_id": -3}, "template_id"),
        ({"name": "x", "kind": "image", "owner": 1}, "owner"),
    ],
)
def test_bad_project_input_is_400(world_a, payload, field):
    response = world_a.client().post("/api/v1/projects", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_list_uses_constant_queries(world_a, make_project, django_assert_max_num_queries):
    client = world_a.client()
    client.get("/api/v1/projects")  # warm the token's last-used write
    for i in range(3):
        make_project(world_a, labels=DEFAULT_LABELS, name=f"p{i}")
    with django_assert_max_num_queries(8) as small:
        assert client.get("/api/v1/projects").status_code == 200
    for i in range(3, 40):
        make_project(world_a, labels=DEFAULT_LABELS, name=f"p{i}")
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get("/api/v1/projects?limit=1000")
    assert response.json()["count"] == 40


def test_paging_filters_and_ordering(world_a, make_project):
    for name in ["alpha", "beta", "gamma"]:
        make_project(world_a, name=name)
    client = world_a.client()
    page = client.get("/api/v1/projects?limit=2&offset=1&ordering=name").json()
    assert page["count"] == 3
    assert [p["name"] for p in page["results"]] == ["beta", "gamma"]
    assert [p["name"] for p in client.get("/api/v1/projects?name__icontains=AMM").json()["results"]] == ["gamma"]


def test_rename_and_settings(world_a, make_project):
    project = make_project(world_a)
    response = world_a.client("manager").patch(
        f"/api/v1/projects/{project.pk}", {"name": "Renamed", "review_required": False}, format="json"
    )
    assert response.status_code == 200
    project.refresh_from_db()
    assert (project.name, project.review_required) == ("Renamed", False)
    bad = world_a.client().patch(f"/api/v1/projects/{project.pk}", {"kind": "video"}, format="json")
    assert bad.status_code == 400 and "kind" in bad.json()["errors"]


def test_copy_settings_only(world_a, make_project):
    source = make_project(world_a, labels=DEFAULT_LABELS, review_required=False)
    response = world_a.client().post(f"/api/v1/projects/{source.pk}/copy", {"name": "Copy"}, format="json")
    assert response.status_code == 201
    copy = Project.objects.get(pk=response.json()["id"])
    assert copy.review_required is False and copy.kind == source.kind
    assert sorted(copy.labels.values_list("name", "maskid")) == sorted(source.labels.values_list("name", "maskid"))
    assert "Job-Id" not in response


def test_copy_all_content_runs_as_a_job(world_a, make_project, django_capture_on_commit_callbacks):
    source = make_project(world_a, labels=DEFAULT_LABELS)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = world_a.client().post(
            f"/api/v1/projects/{source.pk}/copy", {"name": "Full", "content": "all"}, format="json"
        )
    assert response.status_code == 201
    job = Job.objects.get(pk=response["Job-Id"])
    assert job.kind == "project.copy" and job.project_id == response.json()["id"]
    assert callbacks, "the copy job is enqueued after commit"
    from projects.actors import copy_project_content

    copy_project_content.fn(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.errors


def test_delete_purges_only_that_projects_files(world_a, make_project, django_capture_on_commit_callbacks):
    doomed = make_project(world_a, name="doomed")
    kept = make_project(world_a, name="kept")
    doomed_file = default_storage.save(f"{doomed.storage_prefix}/originals/a.txt", ContentFile(b"a"))
    nested = default_storage.save(f"{doomed.storage_prefix}/frames/1/0.jpg", ContentFile(b"b"))
    kept_file = default_storage.save(f"{kept.storage_prefix}/originals/a.txt", ContentFile(b"c"))
    with django_capture_on_commit_callbacks(execute=False):
        response = world_a.client().delete(f"/api/v1/projects/{doomed.pk}")
    assert response.status_code == 202
    assert not Project.objects.filter(pk=doomed.pk).exists()
    job = Job.objects.get(pk=response.json()["id"])
    from projects.actors import purge_project_files

    purge_project_files.fn(job.pk)
    purge_project_files.fn(job.pk)  # a retried message is harmless
    job.refresh_from_db()
    assert job.status == "succeeded" and job.result == {"files_removed": 2}
    assert not default_storage.exists(doomed_file) and not default_storage.exists(nested)
    assert default_storage.exists(kept_file)
    assert Project.objects.filter(pk=kept.pk).exists()


def test_delete_a_project_whose_tasks_have_annotations(world_a, make_project):
    from annotations.services import write_annotations
    from tasks.services.tasks import create_task

    project = make_project(world_a, labels=DEFAULT_LABELS)
    task = create_task(actor=world_a.owner, project=project, name="t")
    shape = {"type": "bbox", "class_name": "car", "geometry": {"x": 1, "y": 1, "width": 4, "height": 4}}
    write_annotations(task, [shape], source="imported", actor=world_a.owner)
    response = world_a.client().delete(f"/api/v1/projects/{project.pk}")
    assert response.status_code == 202
    assert not Project.objects.filter(pk=project.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_delete_purge_runs_on_a_real_worker(stub_worker, world_a, make_project):
    project = make_project(world_a)
    stored = default_storage.save(f"{project.storage_prefix}/x.bin", ContentFile(b"x"))
    response = world_a.client().delete(f"/api/v1/projects/{project.pk}")
    stub_worker.join("maintenance")
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == "succeeded"
    assert not default_storage.exists(stored)


def test_annotator_sees_projects_but_cannot_change_them(world_a, make_project):
    project = make_project(world_a)
    client = world_a.client("annotator")
    assert client.get(f"/api/v1/projects/{project.pk}").status_code == 200
    response = client.patch(f"/api/v1/projects/{project.pk}", {"name": "x"}, format="json")
    assert response.status_code == 403
    assert "owner, admin, manager" in response.json()["message"]
