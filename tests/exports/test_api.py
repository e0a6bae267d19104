"""The exports API: start, list, poll, download (authenticated or by signed link), imports;
permissions per role (export.create); tenancy (another organization's ids are 404)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from rest_framework.test import APIClient

from annotations.models import Annotation, Source
from exports.actors import run_export_job, run_import_job
from exports.models import Export, Import
from organizations.roles import Role

pytestmark = pytest.mark.django_db


def start(client, project, **body):
    return client.post(f"/api/v1/projects/{project.pk}/exports", {"format": "coco", **body}, format="json")


def run(response) -> Export:
    run_export_job.fn(response.json()["id"])
    return Export.objects.get(pk=response.json()["id"])


def test_export_job_lists_with_who_when_format_scope_size_and_downloads(studio):
    client = studio.world.client(Role.MANAGER)
    response = start(client, studio.project, scope={"statuses": ["created"], "sources": ["manual"]})
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["download_url"] is None and body["job_id"]
    export = run(response)
    assert export.status == "succeeded" and export.size_bytes > 0 and export.frame_count == 3
    listed = client.get(f"/api/v1/projects/{studio.project.pk}/exports").json()["results"]
    assert listed[0]["id"] == export.pk
    assert listed[0]["created_by"] == studio.world.user(Role.MANAGER).username
    assert listed[0]["format"] == "coco" and listed[0]["size_bytes"] == export.size_bytes
    assert listed[0]["scope_description"] == "status created" and listed[0]["created_at"]
    detail = client.get(f"/api/v1/exports/{export.pk}").json()
    assert detail["progress_done"] == detail["progress_total"] == 3
    download = client.get(f"/api/v1/exports/{export.pk}/download")
    assert download.status_code == 200
    assert 'filename="Street_scenes_coco.zip"' in download["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert "annotations/instances_default.json" in archive.namelist()
    # The signed link needs a signed-in member of the organization, and only works intact.
    url = detail["download_url"]
    assert client.get(url).status_code == 200
    assert APIClient().get(url).status_code == 401
    assert client.get(url[:-3] + "abc").status_code == 404
    assert client.get("/api/v1/exports/signed-download").status_code == 404


def test_signed_link_expires(studio, settings):
    client = studio.world.client(Role.OWNER)
    export = run(start(client, studio.project))
    url = client.get(f"/api/v1/exports/{export.pk}").json()["download_url"]
    settings.DOWNLOAD_URL_EXPIRY_SECONDS = -1
    assert client.get(url).status_code == 404


def test_signed_link_never_works_for_another_organization(studio, world_b):
    client = studio.world.client(Role.OWNER)
    export = run(start(client, studio.project))
    url = client.get(f"/api/v1/exports/{export.pk}").json()["download_url"]
    assert world_b.client(Role.OWNER).get(url).status_code == 404


def test_download_before_the_job_finished_is_409(studio):
    client = studio.world.client(Role.OWNER)
    response = start(client, studio.project)
    got = client.get(f"/api/v1/exports/{response.json()['id']}/download")
    assert got.status_code == 409 and got.json()["code"] == "not_ready"


def test_a_retried_export_job_is_a_no_op(studio):
    client = studio.world.client(Role.OWNER)
    export = run(start(client, studio.project))
    path = export.file_path
    run_export_job.fn(export.pk)
    export.refresh_from_db()
    assert export.file_path == path and export.job.attempts == 1


def test_a_redelivered_export_replaces_an_archive_its_killed_attempt_stored_but_never_recorded(studio):
    """A worker killed after storing the archive, before saving the row: the redelivered
    message's attempt leaves exactly one archive, the one the row names."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from jobs.services import start_job

    client = studio.world.client(Role.OWNER)
    export = Export.objects.get(pk=start(client, studio.project).json()["id"])
    folder = f"{studio.project.storage_prefix}/exports/{export.pk}"
    start_job(export.job_id)  # the killed attempt: started, stored, never recorded
    leftover = default_storage.save(f"{folder}/{studio.project.name}-coco.zip", ContentFile(b"half of a zip"))

    run_export_job.fn(export.pk)
    export.refresh_from_db()
    assert export.is_ready and export.job.attempts == 2
    _, files = default_storage.listdir(folder)
    assert [f"{folder}/{name}" for name in files] == [export.file_path]
    assert not default_storage.exists(leftover) or leftover == export.file_path
    with default_storage.open(export.file_path, "rb") as archive:
        assert zipfile.ZipFile(archive).testzip() is None


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(Role.OWNER, True), (Role.ADMIN, True), (Role.MANAGER, True), (Role.REVIEWER, False), (Role.ANNOTATOR, False)],
)
def test_export_and_import_need_export_create(studio, role, allowed):
    client = studio.world.client(role)
    expected = 202 if allowed else 403
    assert start(client, studio.project).status_code == expected
    assert client.get(f"/api/v1/projects/{studio.project.pk}/exports").status_code == (200 if allowed else 403)
    upload = io.BytesIO(b"{}")
    upload.name = "x.json"
    response = client.post(
        f"/api/v1/projects/{studio.project.pk}/annotation-imports",
        {"format": "coco", "file": upload},
        format="multipart",
    )
    assert response.status_code == expected
    if not allowed:
        assert "export.create" not in response.json()["message"] and "may not export" in response.json()["message"]


def test_another_organizations_project_and_export_ids_are_404(studio, world_b):
    own = studio.world.client(Role.OWNER)
    export = run(start(own, studio.project))
    other = world_b.client(Role.OWNER)
    assert start(other, studio.project).status_code == 404
    assert other.get(f"/api/v1/projects/{studio.project.pk}/exports").status_code == 404
    assert other.get(f"/api/v1/exports/{export.pk}").status_code == 404
    assert other.get(f"/api/v1/exports/{export.pk}/download").status_code == 404


def test_a_foreign_task_in_the_scope_is_not_found(studio, world_b, make_project):
    from tests.exports.conftest import LABELS, add_image_task

    foreign = add_image_task(world_b, make_project(world_b, labels=LABELS))
    response = start(studio.world.client(), studio.project, scope={"task_id": foreign.pk, "frame": 1})
    assert response.status_code == 400 and "scope.task_id" in response.json()["errors"]


def test_bad_requests_say_what_to_fix(studio):
    client = studio.world.client()
    assert start(client, studio.project, format="tiff").status_code == 400
    response = start(client, studio.project, options={"segmentation": "bitmap"})
    assert response.status_code == 400 and "options.segmentation" in response.json()["errors"]
    response = start(client, studio.project, scope={"frame_start": 0})
    assert response.status_code == 400 and "scope.frame_start" in response.json()["errors"]


def test_formats_are_listed_with_their_options(studio):
    body = studio.world.client(Role.ANNOTATOR).get("/api/v1/exports/formats").json()
    names = [f["name"] for f in body["exports"]]
    assert names[:3] == ["coco", "yolo", "yolo_seg"] and "segmentation_results" in names
    seg = next(f for f in body["exports"] if f["name"] == "segmentation_results")
    assert {o["name"] for o in seg["options"]} == {"outputs", "mix_opacity", "mix_format", "folder_names"}
    assert [f["name"] for f in body["imports"]] == ["coco", "yolo", "voc", "labelme", "gt_masks"]


def test_import_upload_runs_and_reports(studio):
    client = studio.world.client(Role.MANAGER)
    doc = {
        "images": [{"id": 1, "file_name": "one.png", "width": 64, "height": 48}],
        "categories": [{"id": 1, "name": "car"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 10, 10], "segmentation": []}],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("annotations/instances_default.json", json.dumps(doc))
    buffer.seek(0)
    buffer.name = "coco.zip"
    response = client.post(
        f"/api/v1/projects/{studio.project.pk}/annotation-imports",
        {"format": "coco", "file": buffer, "options": json.dumps({"on_invalid_shape": "skip_shape"})},
        format="multipart",
    )
    assert response.status_code == 202, response.json()
    run_import_job.fn(response.json()["id"])
    record = Import.objects.get(pk=response.json()["id"])
    assert record.status == "succeeded" and record.report["totals"]["accepted"] == 1
    detail = client.get(f"/api/v1/annotation-imports/{record.pk}").json()
    assert detail["report"]["files"][0]["task_id"] == studio.tasks[0].pk
    box = Annotation.objects.get(task=studio.tasks[0], source=Source.IMPORTED)
    assert box.produced_by_id == record.job_id and box.geometry == {"x": 1, "y": 2, "width": 10, "height": 10}
    # A retried job writes nothing twice: a finished job is not run again...
    run_import_job.fn(record.pk)
    assert Annotation.objects.filter(task=studio.tasks[0], source=Source.IMPORTED).count() == 1
    # ... and a job whose worker died before it could record its progress finds what it wrote.
    from jobs.models import Job, JobStatus

    Job.objects.filter(pk=record.job_id).update(status=JobStatus.RUNNING)
    Import.objects.filter(pk=record.pk).update(report={})
    run_import_job.fn(record.pk)
    assert Annotation.objects.filter(task=studio.tasks[0], source=Source.IMPORTED).count() == 1
    assert "earlier attempt" in Import.objects.get(pk=record.pk).report["files"][0]["notes"][0]


def test_import_with_bad_options_is_400(studio):
    upload = io.BytesIO(b"{}")
    upload.name = "x.json"
    response = studio.world.client().post(
        f"/api/v1/projects/{studio.project.pk}/annotation-imports",
        {"format": "coco", "file": upload, "options": json.dumps({"unknown_classes": "guess"})},
        format="multipart",
    )
    assert response.status_code == 400 and "options.unknown_classes" in response.json()["errors"]


@pytest.mark.django_db(transaction=True)
def test_the_export_actor_runs_on_the_exports_queue(studio, stub_worker):
    response = start(studio.world.client(), studio.project, format="yolo")
    assert response.status_code == 202
    stub_worker.join("exports")
    export = Export.objects.get(pk=response.json()["id"])
    assert export.status == "succeeded" and export.file_name == "Street_scenes_yolo.zip"


def test_temporary_archives_left_by_killed_workers_are_purged_when_the_next_export_starts(studio, tmp_path, settings):
    import os
    import time

    from exports.writers import STALE_ARCHIVE_SECONDS

    temp = tmp_path / "export-temp"
    temp.mkdir()
    settings.EXPORT_TEMP_DIR = str(temp)
    stale = temp / "export-killed.zip"
    stale.write_bytes(b"half of a zip")
    old = time.time() - STALE_ARCHIVE_SECONDS - 60
    os.utime(stale, (old, old))
    recent = temp / "export-running-elsewhere.zip"  # another worker's export in progress
    recent.write_bytes(b"being written")
    unrelated = temp / "notes.zip"
    unrelated.write_bytes(b"not ours")
    os.utime(unrelated, (old, old))

    export = run(start(studio.world.client(Role.OWNER), studio.project))
    assert export.is_ready
    assert sorted(p.name for p in temp.iterdir()) == ["export-running-elsewhere.zip", "notes.zip"]


def _request_coco_import(client, project):
    upload = io.BytesIO(b"{}")
    upload.name = "x.json"
    url = f"/api/v1/projects/{project.pk}/annotation-imports"
    return client.post(url, {"format": "coco", "file": upload}, format="multipart")


def test_annotation_imports_are_not_media_imports(studio):
    """They ran as jobs of kind "import", so the project's media import history listed each
    one as an import of no files."""
    from jobs.models import Job

    client = studio.world.client(Role.MANAGER)
    response = _request_coco_import(client, studio.project)
    assert response.status_code == 202, response.content
    job_id = Import.objects.get(pk=response.json()["id"]).job_id
    assert Job.objects.get(pk=job_id).kind == "annotation_import"
    assert client.get(f"/api/v1/projects/{studio.project.pk}/imports").json()["count"] == 0
    assert client.get(f"/api/v1/projects/{studio.project.pk}/imports/{job_id}").status_code == 404
    listed = client.get("/api/v1/jobs?kind=annotation_import").json()["results"]
    assert [job["id"] for job in listed] == [job_id]


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_annotation_import_jobs_their_own_kind(studio):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from jobs.models import Job

    assert _request_coco_import(studio.world.client(Role.MANAGER), studio.project).status_code == 202
    annotation_job = Import.objects.get().job_id
    Job.objects.filter(pk=annotation_job).update(kind="import")  # as saved before the fix
    media_job = Job.objects.create(organization=studio.world.org, project=studio.project, kind="import").pk
    executor = MigrationExecutor(connection)
    executor.migrate([("exports", "0001_initial")])
    executor.loader.build_graph()
    executor.migrate([("exports", "0002_annotation_import_job_kind")])
    assert Job.objects.get(pk=annotation_job).kind == "annotation_import"
    assert Job.objects.get(pk=media_job).kind == "import"
