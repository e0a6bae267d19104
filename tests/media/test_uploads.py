"""Resumable uploads: create → PATCH chunks at offsets → resume after an interruption →
import the complete uploads together."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from media import synthetic
from media.models import Upload
from tasks.models import Task
from tests.media.conftest import outcomes, run_import_now

pytestmark = pytest.mark.django_db

CHUNK = "application/offset+octet-stream"


def create(client, project, filename: str, size: int):
    return client.post(f"/api/v1/projects/{project.pk}/uploads", {"filename": filename, "size": size}, format="json")


def patch(client, url: str, offset: int, data: bytes, content_type: str = CHUNK):
    return client.generic("PATCH", url, data, content_type=content_type, HTTP_UPLOAD_OFFSET=str(offset))


def send_all(client, url: str, data: bytes, chunk: int) -> None:
    for offset in range(0, len(data), chunk):
        response = patch(client, url, offset, data[offset : offset + chunk])
        assert response.status_code == 200, response.content
        assert response["Upload-Offset"] == str(min(offset + chunk, len(data)))


def test_a_large_file_arrives_in_chunks_resumes_after_an_interruption_and_imports(world_a, make_project):
    project = make_project(world_a, "video")
    data = synthetic.video_bytes(frames=6, size=(64, 48))
    client = world_a.client("manager")
    created = create(client, project, "clips/drive.mp4", len(data))
    assert created.status_code == 201, created.content
    url = created.json()["upload_url"]
    assert created["Location"] == url and created["Upload-Offset"] == "0" and created["Tus-Resumable"] == "1.0.0"

    assert patch(client, url, 0, data[:1000]).status_code == 200
    # the connection drops; the client asks where to resume
    head = client.head(url)
    assert head.status_code == 200 and head["Upload-Offset"] == "1000" and head["Upload-Length"] == str(len(data))
    # a chunk at the wrong offset is refused with the offset to use
    wrong = patch(client, url, 0, data[:1000])
    assert wrong.status_code == 409 and wrong.json()["offset"] == 1000 and wrong.json()["code"] == "offset_mismatch"
    for offset in range(1000, len(data), 700):
        assert patch(client, url, offset, data[offset : offset + 700]).status_code == 200
    upload = Upload.objects.get(pk=created.json()["id"])
    assert upload.status == "complete" and upload.offset == len(data)
    assert patch(client, url, len(data), b"x").status_code == 409  # complete: no more chunks

    response = client.post(
        f"/api/v1/projects/{project.pk}/imports/from-uploads", {"upload_ids": [upload.pk]}, format="json"
    )
    assert response.status_code == 202, response.content
    job = run_import_now(response.json()["id"])
    assert outcomes(job) == {"clips/drive.mp4": ("accepted", "")}
    task = Task.objects.get(project=project)
    asset = task.assets.get()
    with default_storage.open(asset.file, "rb") as handle:
        assert handle.read() == data  # the chunks were joined in order
    assert not default_storage.exists(f"{project.storage_prefix}/uploads/{upload.pk}/{0:016d}.part")
    upload.refresh_from_db()
    assert upload.status == "imported"


def test_a_dicom_series_sent_file_by_file_groups_into_one_task(world_a, make_project):
    project = make_project(world_a, "dicom")
    client = world_a.client()
    ids = []
    for name, data in synthetic.ct_series(3, 16):
        upload = create(client, project, f"series/{name}", len(data)).json()
        send_all(client, upload["upload_url"], data, 4096)
        ids.append(upload["id"])
    job_id = client.post(f"/api/v1/projects/{project.pk}/imports/from-uploads", {"upload_ids": ids}, format="json")
    job = run_import_now(job_id.json()["id"])
    assert job.result["tasks"] == 1 and job.result["accepted"] == 3


def test_upload_checks(world_a, world_b, make_project, settings):
    settings.MAX_UPLOAD_BYTES = 1000
    settings.MEDIA_CHUNK_MAX_BYTES = 100
    project = make_project(world_a, "image")
    client = world_a.client()
    assert create(client, project, "a.png", 2000).status_code == 400  # over the size limit
    assert create(client, project, "../a.png", 10).status_code == 400
    assert create(client, project, "a.png", 0).status_code == 400
    url = create(client, project, "a.png", 300).json()["upload_url"]
    too_big = patch(client, url, 0, b"x" * 101)
    assert too_big.status_code == 413 and too_big.json()["code"] == "chunk_too_large"
    assert patch(client, url, 0, b"x" * 50, content_type="application/octet-stream").status_code == 200
    assert patch(client, url, 50, b"x" * 100).status_code == 200
    assert patch(client, url, 150, b"x" * 100).status_code == 200
    assert patch(client, url, 250, b"x" * 60).status_code == 400  # beyond the declared size
    no_offset = client.generic("PATCH", url, b"x", content_type=CHUNK)
    assert no_offset.status_code == 400
    unfinished = create(client, project, "b.png", 10).json()
    response = client.post(
        f"/api/v1/projects/{project.pk}/imports/from-uploads", {"upload_ids": [unfinished["id"]]}, format="json"
    )
    assert response.status_code == 400 and "only complete uploads" in str(response.json())
    # abort deletes the chunks
    assert client.delete(url).status_code == 204
    assert Upload.objects.get(pk=int(url.rsplit("/", 1)[1])).status == "aborted"
    # others cannot see, patch or import it; annotators cannot upload
    assert world_b.client().head(url).status_code == 404
    assert patch(world_b.client(), url, 0, b"x").status_code == 404
    assert create(world_a.client("annotator"), project, "c.png", 10).status_code == 403
    listed = client.get(f"/api/v1/projects/{project.pk}/uploads?status=open").json()
    assert [u["filename"] for u in listed["results"]] == ["b.png"]


def test_the_workers_sweep_purges_expired_uploads_everywhere_and_spares_the_rest(
    world_a, world_b, make_project, monkeypatch
):
    """Before, expired uploads went only when the next upload started in the same project:
    a project that never got another upload kept its chunks forever."""
    from datetime import timedelta

    from django.utils import timezone

    from media.services import uploads as upload_services
    from media.storage import list_files
    from tasks import actors

    def started(world, project, name: str, size: int, sent: int):
        client = world.client("manager")
        created = create(client, project, name, size)
        assert created.status_code == 201, created.content
        if sent:
            assert patch(client, created.json()["upload_url"], 0, b"x" * sent).status_code == 200
        return Upload.objects.get(pk=created.json()["id"]), created.json()["upload_url"]

    project_a, project_b = make_project(world_a, "image"), make_project(world_b, "image")
    stale_open, _ = started(world_a, project_a, "a.png", 10, 4)
    stale_complete, _ = started(world_b, project_b, "b.png", 6, 6)
    taken_meanwhile, _ = started(world_b, project_b, "c.png", 5, 5)
    live, live_url = started(world_a, project_a, "d.png", 10, 4)
    past = timezone.now() - timedelta(minutes=1)
    Upload.objects.filter(pk=stale_open.pk).update(expires_at=past - timedelta(minutes=2))
    Upload.objects.filter(pk=stale_complete.pk).update(expires_at=past - timedelta(minutes=1))
    Upload.objects.filter(pk=taken_meanwhile.pk).update(expires_at=past)

    # An import takes one expired upload while the sweep is between its query and its update.
    real_list_files = upload_services.list_files

    def import_meanwhile(prefix):
        if prefix == upload_services.chunk_prefix(stale_complete):
            response = world_b.client("manager").post(
                f"/api/v1/projects/{project_b.pk}/imports/from-uploads",
                {"upload_ids": [taken_meanwhile.pk]},
                format="json",
            )
            assert response.status_code == 202, response.content
        return real_list_files(prefix)

    monkeypatch.setattr(upload_services, "list_files", import_meanwhile)
    actors.expire_task_locks_periodically.fn()

    statuses = dict(Upload.objects.values_list("pk", "status"))
    assert statuses[stale_open.pk] == statuses[stale_complete.pk] == "aborted"
    assert statuses[taken_meanwhile.pk] == "imported" and statuses[live.pk] == "open"
    assert not list(list_files(upload_services.chunk_prefix(stale_open)))
    assert not list(list_files(upload_services.chunk_prefix(stale_complete)))
    assert len(list(list_files(upload_services.chunk_prefix(taken_meanwhile)))) == 1  # the import reads it
    assert patch(world_a.client("manager"), live_url, 4, b"y" * 6).status_code == 200  # still open
    assert upload_services.purge_expired_uploads() == 0  # nothing left: idempotent
