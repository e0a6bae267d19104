"""Retried messages: an import or a video job that crashed half-way and runs again makes
no second task, asset, frame or file; a finished job ignores a redelivered message."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from jobs.models import Job
from media import synthetic
from media.actors import MAX_RETRIES, process_video, run_import
from media.models import Asset, Frame, ImportFile
from media.services import prepare, video_processing
from media.services.imports import Source, start_import
from tasks.models import Task
from tests.media.conftest import files_of, outcomes, zip_bytes

pytestmark = pytest.mark.django_db


def _listing(prefix: str) -> list[str]:
    from media.storage import list_files

    return sorted(list_files(prefix))


def test_an_import_that_crashed_half_way_completes_on_retry_without_duplicates(world_a, make_project, monkeypatch):
    project = make_project(world_a, "image")
    pairs = [(f"{n}.png", synthetic.image_bytes(16, 16, seed=n)) for n in range(4)]
    job = start_import(actor=world_a.owner, project=project, files=files_of(pairs), source=Source.UPLOAD)

    real = prepare.prepare_images
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise ConnectionError("storage went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(prepare, "prepare_images", flaky)
    with pytest.raises(ConnectionError):
        run_import.fn(job.pk)  # Dramatiq would retry this message
    assert Task.objects.filter(project=project).count() == 2
    assert Job.objects.get(pk=job.pk).status == "running"

    run_import.fn(job.pk)  # the retry
    job.refresh_from_db()
    assert job.status == "succeeded" and job.attempts == 2
    assert Task.objects.filter(project=project).count() == 4
    assert Asset.objects.filter(project=project).count() == 4
    assert Frame.objects.filter(task__project=project).count() == 4
    assert set(ImportFile.objects.filter(job=job).values_list("outcome", flat=True)) == {"accepted"}
    thumbnails = _listing(f"{project.storage_prefix}/thumbnails")
    assert len(thumbnails) == 4  # rewritten in place, never copies with another name

    run_import.fn(job.pk)  # a redelivered message for a finished job does nothing
    assert Task.objects.filter(project=project).count() == 4 and Job.objects.get(pk=job.pk).attempts == 2


def test_a_video_job_that_crashed_after_encoding_reruns_cleanly(world_a, make_project, monkeypatch, tmp_path):
    project = make_project(world_a, "video")
    path = tmp_path / "v.avi"
    synthetic.write_video(path, codec="mpeg4", container="avi", frames=8)
    job = start_import(
        actor=world_a.owner, project=project, files=files_of([("v.avi", path.read_bytes())]), source=Source.UPLOAD
    )
    run_import.fn(job.pk)
    video_job = Job.objects.get(kind="media.video", params__import_job_id=job.pk)

    real = video_processing._apply_picture_types

    def crash(*args, **kwargs):
        raise ConnectionError("database connection lost")

    monkeypatch.setattr(video_processing, "_apply_picture_types", crash)
    with pytest.raises(ConnectionError):
        process_video.fn(video_job.pk)
    monkeypatch.setattr(video_processing, "_apply_picture_types", real)
    process_video.fn(video_job.pk)

    asset = Asset.objects.get(project=project)
    assert asset.status == "ready" and asset.playback_path
    assert Frame.objects.filter(asset=asset).count() == 8
    assert all(Frame.objects.filter(asset=asset).values_list("pict_type", flat=True))
    assert _listing(f"{project.storage_prefix}/playback") == [asset.playback_path]
    video_job.refresh_from_db()
    assert video_job.status == "succeeded" and video_job.attempts == 2
    assert video_job.result["playback_copy"] is True


def test_the_last_attempt_fails_the_job_with_the_reason(world_a, make_project, monkeypatch):
    project = make_project(world_a, "image")
    job = start_import(
        actor=world_a.owner,
        project=project,
        files=files_of([("a.png", synthetic.image_bytes(8, 8))]),
        source=Source.UPLOAD,
    )
    monkeypatch.setattr(prepare, "prepare_images", lambda *a, **k: (_ for _ in ()).throw(ConnectionError("down")))
    for _ in range(MAX_RETRIES):
        with pytest.raises(ConnectionError):
            run_import.fn(job.pk)
    run_import.fn(job.pk)  # the last one gives up
    job.refresh_from_db()
    assert job.status == "failed" and "ConnectionError: down" in job.errors[-1]
    assert not Task.objects.filter(project=project).exists()
    assert default_storage.exists(ImportFile.objects.get(job=job).stored_path)  # nothing was half-decided


def test_an_object_storage_outage_is_retried_and_never_refuses_a_file(world_a, make_project, monkeypatch):
    """botocore's errors (endpoint unreachable, 503 SlowDown) are not Python's ConnectionError:
    checking or preparing a file that meets one stops the attempt instead of refusing the file."""
    from botocore.exceptions import ClientError, EndpointConnectionError

    from media.services import ingest

    project = make_project(world_a, "image")
    pairs = [(f"{n}.png", synthetic.image_bytes(16, 16, seed=n)) for n in range(3)]
    job = start_import(actor=world_a.owner, project=project, files=files_of(pairs), source=Source.UPLOAD)
    slow_down = ClientError({"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "HeadObject")
    unreachable = EndpointConnectionError(endpoint_url="http://s3.invalid")
    real_local_file, real_prepare = ingest.local_file, prepare.prepare_images

    def outage(error):
        def fail(*args, **kwargs):
            raise error

        return fail

    monkeypatch.setattr(ingest, "local_file", outage(slow_down))  # while files are checked
    with pytest.raises(ClientError):
        run_import.fn(job.pk)
    monkeypatch.setattr(ingest, "local_file", real_local_file)
    calls = {"n": 0}

    def prepare_then_fail(*args, **kwargs):  # while the second file is prepared, after its thumbnail
        calls["n"] += 1
        prepared = real_prepare(*args, **kwargs)
        if calls["n"] == 2:
            raise unreachable
        return prepared

    monkeypatch.setattr(prepare, "prepare_images", prepare_then_fail)
    with pytest.raises(EndpointConnectionError):
        run_import.fn(job.pk)
    job.refresh_from_db()
    assert job.status == "running" and job.attempts == 2
    assert set(ImportFile.objects.filter(job=job).values_list("outcome", flat=True)) == {"accepted", "pending"}
    assert job.errors == [
        "Attempt 1: storage unavailable (ClientError: An error occurred (SlowDown) when calling the HeadObject "
        "operation: Unknown)",
        "Attempt 2: storage unavailable (EndpointConnectionError: Could not connect to the endpoint URL: "
        '"http://s3.invalid")',
    ]
    assert job.message.startswith("Retrying: storage unavailable (EndpointConnectionError")
    # The unsaved group's thumbnail was deleted: only the accepted file's is stored.
    assert len(_listing(f"{project.storage_prefix}/thumbnails")) == 1

    monkeypatch.setattr(prepare, "prepare_images", real_prepare)
    run_import.fn(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded" and job.attempts == 3 and job.result["accepted"] == 3
    assert Task.objects.filter(project=project).count() == Asset.objects.filter(project=project).count() == 3
    assert len(_listing(f"{project.storage_prefix}/thumbnails")) == 3


def fail_every_attempt_on_storage(job, monkeypatch) -> None:
    """Storage unreachable through the import's every attempt (checking files reads them)."""
    from botocore.exceptions import EndpointConnectionError

    from media.services import ingest

    def unreachable(*args, **kwargs):
        raise EndpointConnectionError(endpoint_url="http://s3.invalid")

    monkeypatch.setattr(ingest, "local_file", unreachable)
    for _ in range(MAX_RETRIES):
        with pytest.raises(EndpointConnectionError):
            run_import.fn(job.pk)
    run_import.fn(job.pk)
    job.refresh_from_db()


def test_storage_down_on_the_last_attempt_fails_the_job_naming_storage(world_a, make_project, monkeypatch):
    project = make_project(world_a, "image")
    job = start_import(
        actor=world_a.owner,
        project=project,
        files=files_of([("a.png", synthetic.image_bytes(8, 8))]),
        source=Source.UPLOAD,
    )
    fail_every_attempt_on_storage(job, monkeypatch)
    assert job.status == "failed" and job.attempts == MAX_RETRIES + 1
    assert job.message.startswith("Import failed after 4 attempts: storage unavailable (EndpointConnectionError"), (
        job.message
    )
    assert len(job.errors) == 4 and all("storage unavailable" in error for error in job.errors)
    assert ImportFile.objects.get(job=job).outcome == "pending"  # not refused for an outage
    assert not Task.objects.filter(project=project).exists()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize(("archive_name", "pack"), [("photos.zip", zip_bytes), ("photos.tar.gz", _tar_gz)])
def test_storage_dropping_while_an_archive_expands_is_retried_not_called_corrupt(
    world_a, make_project, monkeypatch, archive_name, pack
):
    """ConnectionError and TimeoutError are OSErrors, as are the errors of a damaged archive:
    storing a member while the connection drops must stop the attempt, not refuse the member
    (zip) or the whole archive (tar) as damaged."""
    from media.services import ingest

    project = make_project(world_a, "image")
    members = {f"{n}.png": synthetic.image_bytes(16, 16, seed=n) for n in range(3)}
    job = start_import(
        actor=world_a.owner, project=project, files=files_of([(archive_name, pack(members))]), source=Source.UPLOAD
    )
    real_put = ingest.put_file

    def drops_on_the_second_member(path, handle, *args, **kwargs):
        if path.endswith("/1.png"):
            raise ConnectionError("connection reset by peer")
        return real_put(path, handle, *args, **kwargs)

    monkeypatch.setattr(ingest, "put_file", drops_on_the_second_member)
    with pytest.raises(ConnectionError):
        run_import.fn(job.pk)
    job.refresh_from_db()
    assert job.status == "running", job.message  # to be retried
    assert not any(outcome == "refused" for outcome, _ in outcomes(job).values()), outcomes(job)

    monkeypatch.setattr(ingest, "put_file", real_put)
    run_import.fn(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded" and job.attempts == 2, (job.status, job.message)
    assert job.result["accepted"] == 3 and job.result.get("refused", 0) == 0, job.result
    assert sorted(Task.objects.filter(project=project).values_list("name", flat=True)) == ["0.png", "1.png", "2.png"]


def test_a_failed_import_is_resumed_for_its_pending_files_only(world_a, make_project, monkeypatch):
    """Storage down longer than the retries: the import fails with its files pending (their
    bytes kept). Resuming runs it again for those files; what it had decided stays decided."""
    from audit.models import AuditEvent
    from media.services import ingest

    project = make_project(world_a, "image")
    pairs = [(f"{n}.png", synthetic.image_bytes(16, 16, seed=n)) for n in range(3)] + [("empty.png", b"")]
    job = start_import(actor=world_a.owner, project=project, files=files_of(pairs), source=Source.UPLOAD)
    real_local_file = ingest.local_file
    fail_every_attempt_on_storage(job, monkeypatch)
    assert job.status == "failed" and "resume the import" in job.message, job.message
    assert outcomes(job) == {
        "0.png": ("pending", ""),
        "1.png": ("pending", ""),
        "2.png": ("pending", ""),
        "empty.png": ("refused", "empty"),
    }
    client = world_a.client("manager")
    url = f"/api/v1/projects/{project.pk}/imports/{job.pk}/resume"
    assert world_a.client("annotator").post(url).status_code == 403

    monkeypatch.setattr(ingest, "local_file", real_local_file)  # storage is back
    response = client.post(url)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["attempts"] == 0
    assert body["message"] == f"Resumed by {world_a.user('manager').username}: 3 file(s) left to import."
    assert AuditEvent.objects.filter(action="media.import_resumed", object_id=str(job.pk)).exists()
    run_import.fn(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded" and job.attempts == 1, (job.status, job.message)
    assert {name: outcome for name, (outcome, _) in outcomes(job).items()} == {
        "0.png": "accepted",
        "1.png": "accepted",
        "2.png": "accepted",
        "empty.png": "refused",
    }
    assert Task.objects.filter(project=project).count() == 3
    assert len(job.errors) >= 4  # the failed attempts stay in its history

    again = client.post(url)
    assert again.status_code == 409 and again.json()["code"] == "import_not_failed", again.content
    assert "succeeded" in again.json()["message"]
    Job.objects.filter(pk=job.pk).update(status="failed")
    nothing = client.post(url)
    assert nothing.status_code == 409 and nothing.json()["code"] == "nothing_pending", nothing.content
