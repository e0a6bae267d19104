"""Each media kind end to end: API upload → Dramatiq worker (stub broker, real worker
threads) → tasks with frames; and once with a real worker process on the Redis broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from jobs.models import Job
from media import synthetic
from media.models import Asset, Frame
from tasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)


def post_files(world, project, files: dict[str, bytes]) -> int:
    payload = {"files": [SimpleUploadedFile(name, data) for name, data in files.items()]}
    response = world.client("manager").post(f"/api/v1/projects/{project.pk}/imports", payload, format="multipart")
    assert response.status_code == 202, response.content
    return response.json()["id"]


def test_images_through_the_worker(world_a, make_project, stub_worker):
    project = make_project(world_a, "image")
    job_id = post_files(
        world_a, project, {f"{n}.jpg": synthetic.image_bytes(48, 32, seed=n, fmt="JPEG") for n in range(3)}
    )
    stub_worker.join("media")
    job = Job.objects.get(pk=job_id)
    assert job.status == "succeeded" and job.result["accepted"] == 3
    assert Frame.objects.filter(task__project=project).count() == 3


def test_video_through_the_worker_with_the_follow_up_job(world_a, make_project, stub_worker, tmp_path):
    project = make_project(world_a, "video")
    path = tmp_path / "clip.webm"
    times = synthetic.write_video(path, codec="libvpx", container="webm", frames=8, durations_ms=[40, 80])
    job_id = post_files(world_a, project, {"clip.webm": path.read_bytes()})
    stub_worker.join("media")
    assert Job.objects.get(pk=job_id).status == "succeeded"
    video_job = Job.objects.get(kind="media.video", project=project)
    assert video_job.status == "succeeded" and video_job.progress_done == video_job.progress_total == 8
    task = Task.objects.get(project=project)
    assert list(Frame.objects.filter(task=task).order_by("index").values_list("pts_ms", flat=True)) == times
    assert Asset.objects.get(task=task).status == "ready"
    manifest = world_a.client().get(f"/api/v1/tasks/{task.pk}/video/manifest").json()
    assert manifest["video_metadata"]["playback_codec"] == "h264"


def test_dicom_series_through_the_worker(world_a, make_project, stub_worker):
    project = make_project(world_a, "dicom")
    job_id = post_files(world_a, project, {name: data for name, data in synthetic.ct_series(6, 32)})
    stub_worker.join("media")
    assert Job.objects.get(pk=job_id).result["tasks"] == 1
    assert Frame.objects.filter(task__project=project).count() == 6


def test_text_through_the_worker(world_a, make_project, stub_worker):
    project = make_project(world_a, "text")
    post_files(world_a, project, {"a.txt": b"Hello NER", "b.txt": "Grüße".encode()})
    stub_worker.join("media")
    assert sorted(Task.objects.filter(project=project).values_list("text", flat=True)) == ["Grüße", "Hello NER"]


# --- a real worker process on the real Redis broker ------------------------------------------
@pytest.fixture
def redis_worker(transactional_db, tmp_path):
    """``python -m dramatiq annotator.worker`` on Redis, in its own namespace, on this test's
    database and storage folder."""
    from dramatiq.brokers.redis import RedisBroker

    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")
    namespace = f"test-media-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "annotator.test_settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": redis_url,
        "DRAMATIQ_BROKER_URL": redis_url,
        "DRAMATIQ_NAMESPACE": namespace,
        "MEDIA_ROOT": str(settings.STORAGES["default"]["OPTIONS"]["location"]),
        "ANNOTATOR_DATA_DIR": str(tmp_path / "worker-data"),
    }
    if db.get("PASSWORD"):
        env["DATABASE_URL"] = env["DATABASE_URL"].replace("@", f":{db['PASSWORD']}@", 1)
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 (closed below)
    command = [sys.executable, "-m", "dramatiq", "annotator.worker", "--processes", "1", "--threads", "2"]
    process = subprocess.Popen(
        [*command, "--queues", "media"],
        cwd=Path(settings.BASE_DIR),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    broker = RedisBroker(url=redis_url, namespace=namespace)
    broker.declare_queue("media")
    try:
        yield broker
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        broker.flush_all()
        broker.close()


def wait_for(predicate, timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def test_a_real_worker_process_on_redis_ingests_a_video(world_a, make_project, redis_worker, tmp_path):
    from media.actors import run_import
    from media.services.imports import IncomingFile, Source, start_import

    project = make_project(world_a, "video")
    path = tmp_path / "clip.avi"
    synthetic.write_video(path, codec="mpeg4", container="avi", frames=6)
    data = path.read_bytes()
    job = start_import(
        actor=world_a.owner,
        project=project,
        files=[IncomingFile(name="clip.avi", content=data, size=len(data))],
        source=Source.UPLOAD,
    )
    redis_worker.enqueue(run_import.message(job.pk))

    def done() -> bool:
        jobs = Job.objects.filter(project=project)
        return jobs.count() == 2 and all(j.is_finished for j in jobs)

    log = tmp_path / "worker.log"
    assert wait_for(done), f"worker did not finish; log:\n{log.read_text()[-3000:] if log.exists() else ''}"
    job.refresh_from_db()
    assert job.status == "succeeded" and job.result["accepted"] == 1
    video_job = Job.objects.get(kind="media.video", project=project)
    assert video_job.status == "succeeded", video_job.errors
    asset = Asset.objects.get(project=project)
    assert asset.status == "ready" and asset.playback_path
    assert Frame.objects.filter(asset=asset).exclude(pict_type="").count() == 6
