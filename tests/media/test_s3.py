"""The S3 path against a real S3-protocol server (``moto_server`` on loopback) through
django-storages' S3Storage: originals and derived files under the project's prefix,
presigned short-lived URLs, frames decoded from object storage, purge on project delete."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import boto3
import pytest
import requests

from media import synthetic
from media.models import Asset
from media.selectors import frame_image
from tasks.models import Task

pytestmark = pytest.mark.django_db

BUCKET = "annotator-test"
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory):
    binary = shutil.which("moto_server") or str(Path(__import__("sys").executable).with_name("moto_server"))
    port = _free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # a loaded machine starts it slowly
        while True:
            try:
                requests.get(endpoint, timeout=30)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.2)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def s3_storage(moto_endpoint, settings, tmp_path):
    client = boto3.client("s3", endpoint_url=moto_endpoint, **KEYS)
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": moto_endpoint,
                "access_key": KEYS["aws_access_key_id"],
                "secret_key": KEYS["aws_secret_access_key"],
                "region_name": KEYS["region_name"],
                "location": "tenant-data",
                "default_acl": None,
                "file_overwrite": False,
                "querystring_auth": True,
                "querystring_expire": 300,
                "signature_version": "s3v4",
                "addressing_style": "path",
            },
        },
    }
    settings.MEDIA_LOCAL_CACHE_DIR = tmp_path / "cache"
    yield client
    objects = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    for item in objects:
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def keys(client, prefix: str = "") -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def test_ingest_serve_and_purge_on_s3(world_a, world_b, make_project, ingest, s3_storage, tmp_path):
    from media.storage import is_s3

    assert is_s3()
    image_project = make_project(world_a, "image")
    video_project = make_project(world_a, "video")
    png = synthetic.image_bytes(40, 30)
    ingest(image_project, [("a.png", png)])
    clip = tmp_path / "c.avi"
    synthetic.write_video(clip, codec="mpeg4", container="avi", frames=6)
    ingest(video_project, [("c.avi", clip.read_bytes())])

    prefix = f"tenant-data/{image_project.storage_prefix}/"
    stored = keys(s3_storage, prefix)
    assert any("/originals/" in k and k.endswith("/a.png") for k in stored)
    assert any("/thumbnails/" in k for k in stored)
    video_keys = keys(s3_storage, f"tenant-data/{video_project.storage_prefix}/")
    assert any("/playback/" in k for k in video_keys) and any("-poster.jpg" in k for k in video_keys)

    # frames decode from object storage (through the worker's local cache)
    task = Task.objects.get(project=video_project)
    assert abs(frame_image(task, 4)[:40, :40].mean() - synthetic.frame_level(4)) < 6

    # presigned, short-lived URLs straight from S3, with safe content types
    manifest = world_a.client().get(f"/api/v1/tasks/{task.pk}/video/manifest").json()
    assert manifest["video_url"].startswith(f"{s3_storage.meta.endpoint_url}/{BUCKET}/tenant-data/orgs/")
    assert "X-Amz-Signature=" in manifest["video_url"] and "X-Amz-Expires=300" in manifest["video_url"]
    response = requests.get(manifest["video_url"], timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"] == "video/mp4"
    stored = s3_storage.get_object(Bucket=BUCKET, Key=f"tenant-data/{Asset.objects.get(task=task).playback_path}")
    assert response.content == stored["Body"].read()
    tampered = manifest["video_url"].replace(f"orgs/{world_a.org.pk}/", f"orgs/{world_b.org.pk}/")
    assert requests.get(tampered, timeout=30).status_code == 403  # the signature covers the key

    image_task = Task.objects.get(project=image_project)
    media = world_a.client().get(f"/api/v1/tasks/{image_task.pk}/media").json()
    original = requests.get(media["assets"][0]["url"], timeout=30)
    assert original.content == png and original.headers["Content-Type"] == "image/png"
    frame = world_a.client().get(f"/api/v1/tasks/{image_task.pk}/frames/0")
    assert frame.status_code == 200 and frame["Content-Type"] == "image/jpeg"
    assert any("/cache/frames/" in k for k in keys(s3_storage, prefix))


def test_deleting_a_project_purges_exactly_its_prefix_on_s3(world_a, make_project, ingest, s3_storage):
    from projects.actors import purge_project_files
    from projects.services.projects import delete_project

    doomed = make_project(world_a, "image")
    kept = make_project(world_a, "image")
    ingest(doomed, [("a.png", synthetic.image_bytes(16, 16, seed=1))])
    ingest(kept, [("b.png", synthetic.image_bytes(16, 16, seed=2))])
    prefix = f"tenant-data/{doomed.storage_prefix}/"
    assert keys(s3_storage, prefix)
    purge = delete_project(actor=world_a.owner, project=doomed)
    purge_project_files.fn(purge.pk)
    assert keys(s3_storage, prefix) == []
    assert keys(s3_storage, f"tenant-data/{kept.storage_prefix}/")
