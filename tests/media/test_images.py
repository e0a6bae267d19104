"""Images: each file becomes a task with one oriented frame and a thumbnail; sequences and
multi-image tasks group by folder; pictures come back through the one RGB path."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.files.storage import default_storage
from PIL import Image

from media import selectors, synthetic
from media.models import Asset, Frame, ImportFile
from tasks.models import Task
from tests.media.conftest import outcomes

pytestmark = pytest.mark.django_db


def test_each_image_becomes_a_task_with_size_frame_and_thumbnail(world_a, make_project, ingest):
    project = make_project(world_a, "image")
    pairs = [("a.png", synthetic.image_bytes(64, 48, seed=1)), ("b.jpg", synthetic.image_bytes(80, 60, fmt="JPEG"))]
    job = ingest(project, pairs)
    assert job.status == "succeeded"
    assert job.result["accepted"] == 2 and job.result["tasks"] == 2
    assert job.progress_done == job.progress_total == 2
    tasks = Task.objects.filter(project=project).order_by("name")
    assert [t.name for t in tasks] == ["a.png", "b.jpg"]
    asset = Asset.objects.get(task=tasks[0])
    assert (asset.width, asset.height, asset.kind, asset.mime_type) == (64, 48, "image", "image/png")
    assert asset.file.startswith(project.storage_prefix + "/originals/")
    assert asset.thumbnail_path.startswith(project.storage_prefix + "/thumbnails/")
    assert default_storage.exists(asset.thumbnail_path)
    frame = Frame.objects.get(task=tasks[0])
    assert (frame.index, frame.width, frame.height) == (0, 64, 48)


def test_exif_orientation_is_applied_to_size_and_pixels(world_a, make_project, ingest):
    project = make_project(world_a, "image")
    data = synthetic.image_bytes(80, 40, fmt="JPEG", exif_orientation=6)  # rotate 90° clockwise
    ingest(project, [("rotated.jpg", data)])
    task = Task.objects.get(project=project)
    asset = Asset.objects.get(task=task)
    assert (asset.width, asset.height) == (40, 80)
    assert asset.metadata["exif_orientation"] == 6
    picture = selectors.frame_image(task, 0)
    assert picture.shape == (80, 40, 3) and picture.dtype == np.uint8


def test_frame_image_is_rgb_uint8_matching_the_original(world_a, make_project, ingest):
    project = make_project(world_a, "image")
    data = synthetic.image_bytes(32, 24, seed=3)
    ingest(project, [("x.png", data)])
    task = Task.objects.get(project=project)
    expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert np.array_equal(selectors.frame_image(task, 0), expected)
    with pytest.raises(selectors.FrameNotFound):
        selectors.frame_image(task, 1)


def test_image_sequence_groups_files_by_folder_in_natural_order(world_a, make_project, ingest):
    project = make_project(world_a, "sequential_image")
    pairs = [(f"walk/{n}.png", synthetic.image_bytes(32, 24, seed=n)) for n in (10, 2, 1)]
    pairs += [(f"run/{n}.png", synthetic.image_bytes(32, 24, seed=100 + n)) for n in (1, 2)]
    job = ingest(project, pairs)
    assert job.result["tasks"] == 2 and job.result["accepted"] == 5
    walk = Task.objects.get(project=project, name="walk")
    names = [f.asset.original_name for f in Frame.objects.filter(task=walk).select_related("asset").order_by("index")]
    assert names == ["walk/1.png", "walk/2.png", "walk/10.png"]
    # run of frames: same pictures as one by one
    pictures = dict(selectors.iter_frame_images(walk))
    assert sorted(pictures) == [0, 1, 2]
    assert np.array_equal(pictures[2], selectors.frame_image(walk, 2))


def test_loose_files_of_a_sequence_go_to_one_task_named_by_the_import(world_a, make_project, ingest):
    project = make_project(world_a, "multi_image_classification")
    pairs = [(f"{n}.png", synthetic.image_bytes(16, 16, seed=n)) for n in range(3)]
    ingest(project, pairs, task_name="shelf photos")
    task = Task.objects.get(project=project)
    assert task.name == "shelf photos"
    assert Frame.objects.filter(task=task).count() == 3


def test_frame_endpoint_serves_jpeg_and_png_and_caches(world_a, make_project, ingest):
    project = make_project(world_a, "image")
    ingest(project, [("x.png", synthetic.image_bytes(40, 30))])
    task = Task.objects.get(project=project)
    client = world_a.client("annotator")
    jpeg = client.get(f"/api/v1/tasks/{task.pk}/frames/0", HTTP_ACCEPT="image/*")
    assert jpeg.status_code == 200, jpeg.content
    assert jpeg["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(jpeg.content)).size == (40, 30)
    png = client.get(f"/api/v1/tasks/{task.pk}/frames/0?ext=png")
    assert png["Content-Type"] == "image/png"
    decoded = np.asarray(Image.open(io.BytesIO(png.content)).convert("RGB"))
    assert np.array_equal(decoded, selectors.frame_image(task, 0))
    cached = default_storage.listdir(f"{project.storage_prefix}/cache/frames/{task.pk}")[1]
    assert sorted(cached) == ["0-default.jpeg", "0-default.png"]
    missing = client.get(f"/api/v1/tasks/{task.pk}/frames/5", HTTP_ACCEPT="image/png")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_task_media_lists_files_with_signed_urls(world_a, make_project, ingest):
    project = make_project(world_a, "image")
    data = synthetic.image_bytes(40, 30)
    ingest(project, [("x.png", data)])
    task = Task.objects.get(project=project)
    body = world_a.client("reviewer").get(f"/api/v1/tasks/{task.pk}/media").json()
    assert body["status"] == "ready" and body["frame_count"] == 1 and body["media_kind"] == "image"
    asset = body["assets"][0]
    assert asset["name"] == "x.png" and asset["width"] == 40
    assert "/api/v1/media/download?token=" in asset["url"]
    assert body["video_metadata"] is None and body["dicom"] is None
    frames = world_a.client().get(f"/api/v1/tasks/{task.pk}/frames").json()
    assert frames["count"] == 1 and frames["results"][0]["width"] == 40


def test_import_files_record_hash_and_detected_type(world_a, make_project, ingest):
    project = make_project(world_a, "image")
    job = ingest(project, [("photo.bin", synthetic.image_bytes(20, 20, fmt="JPEG"))])  # extension lies
    row = ImportFile.objects.get(job=job)
    assert row.detected_type == "image/jpeg" and len(row.content_hash) == 64
    assert outcomes(job) == {"photo.bin": ("accepted", "")}
