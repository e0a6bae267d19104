"""The detection-service contract over the ml app: ``POST /api/detect`` and ``/api/data/*``
with the seed's field names, scoped to the caller's organization."""

from __future__ import annotations

import base64
import io
from datetime import timedelta

import numpy as np
import pytest
import torch
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from ml.models import InferenceRecord
from organizations.roles import Role
from tests.compat.conftest import png

RESULT_FIELDS = {"defect_count", "dice", "labels", "name", "processing_time", "result_image"}
RECORD_FIELDS = {"figId", "name", "resFig", "date", "time", "label", "num", "dice"}


class BrightnessDetector(torch.nn.Module):
    """Finds one "scratch" (a fixed box) scoring the image's mean brightness (0-1)."""

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        score = x.mean().reshape(1)
        boxes = torch.tensor([[2.0, 2.0, 10.0, 12.0]])
        labels = torch.zeros(1, dtype=torch.int64)
        return {"boxes": boxes, "scores": score, "labels": labels}


def default_detector(world):
    """The organization's default detection model, registered and validated through ml's services."""
    from ml.services.registry import register_model, validate_registered_model

    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(BrightnessDetector()), buffer)
    model = register_model(
        actor=world.owner,
        organization=world.org,
        name="defects",
        kind="detection",
        file=SimpleUploadedFile("defects.pt", buffer.getvalue()),
        input_width=32,
        input_height=32,
        label_map=[{"index": 0, "name": "scratch"}],
        make_default_detection=True,
    )
    validate_registered_model(model.pk)
    model.refresh_from_db()
    assert model.status == "ready", model.status_message
    return model


def image_file(name: str, brightness: int) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png(np.full((24, 32, 3), brightness, dtype=np.uint8)), content_type="image/png")


def key_client(world, role: str = Role.MANAGER) -> APIClient:
    pair, private = world.key_pair(role)
    client = APIClient()
    client.credentials(HTTP_X_AUTH_TOKEN=pair.public_key, HTTP_X_AUTH_SECRET=private)
    return client


def infer(world, images: list[SimpleUploadedFile]):
    """A recorded run through ml's service, its worker step run in-line."""
    from ml.services import inference

    run = inference.start_batch_inference(actor=world.owner, organization=world.org, images=images)
    inference.run_batch(run.job_id)
    return run


# --- POST /api/detect ----------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_detect_returns_one_result_per_image_and_records_every_run(world_a, stub_worker):
    default_detector(world_a)
    client = key_client(world_a)
    before = InferenceRecord.objects.count()
    response = client.post(
        "/api/detect",
        {"images": [image_file("bright.png", 230), image_file("dark.png", 10)]},
        format="multipart",
    )
    assert response.status_code == 200, response.content
    bright, dark = response.json()
    assert set(bright) == RESULT_FIELDS and set(dark) == RESULT_FIELDS
    assert (bright["name"], bright["defect_count"], bright["labels"]) == ("bright.png", 1, ["scratch"])
    assert bright["dice"] == pytest.approx(230 / 255, abs=1e-3)
    assert (dark["name"], dark["defect_count"], dark["labels"], dark["dice"]) == ("dark.png", 0, [], None)
    assert bright["processing_time"] >= 0
    rendered = Image.open(io.BytesIO(base64.b64decode(bright["result_image"])))
    assert rendered.format == "JPEG" and rendered.size == (32, 24)
    assert InferenceRecord.objects.count() == before + 2
    again = client.post("/api/detect/", {"images": [image_file("again.png", 200)]}, format="multipart")
    assert again.status_code == 200 and again.json()[0]["name"] == "again.png"
    assert InferenceRecord.objects.count() == before + 3


@pytest.mark.django_db
def test_detect_without_images_is_the_contracts_400(world_a):
    response = key_client(world_a).post("/api/detect", {}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"] == "No images provided"


@pytest.mark.django_db
def test_an_invalid_image_is_400_naming_the_file_and_nothing_is_recorded(world_a):
    default_detector(world_a)
    broken = SimpleUploadedFile("broken.jpg", b"not a picture", content_type="image/jpeg")
    response = key_client(world_a).post(
        "/api/detect", {"images": [image_file("fine.png", 100), broken]}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid image data for broken.jpg"
    assert response.json()["details"]
    assert not InferenceRecord.objects.exists()


@pytest.mark.django_db
def test_detect_needs_a_default_model_and_the_model_permission(world_a):
    response = key_client(world_a).post("/api/detect", {"images": [image_file("a.png", 100)]}, format="multipart")
    assert response.status_code == 400 and "default detection model" in response.json()["error"]
    default_detector(world_a)
    refused = key_client(world_a, Role.ANNOTATOR).post(
        "/api/detect", {"images": [image_file("a.png", 100)]}, format="multipart"
    )
    assert refused.status_code == 403 and "error" in refused.json()


# --- /api/data/* ---------------------------------------------------------------------------
@pytest.fixture
def recorded(world_a):
    default_detector(world_a)
    infer(world_a, [image_file("panel-001.png", 240), image_file("panel-002.png", 5)])
    infer(world_a, [image_file("weld-7.png", 220)])
    return InferenceRecord.objects.for_organization(world_a.org)


@pytest.mark.django_db
def test_get_recent_lists_the_latest_records_with_the_contracts_fields(world_a, recorded):
    client = key_client(world_a)
    rows = client.get("/api/data/getRecent").json()
    assert len(rows) == 3 and all(set(row) == RECORD_FIELDS for row in rows)
    newest = rows[0]
    assert newest["name"] == "weld-7.png" and newest["num"] == 1 and newest["label"] == "scratch"
    record = recorded.get(image_name="weld-7.png")
    local = timezone.localtime(record.created_at)
    assert newest["figId"] == record.pk
    assert (newest["date"], newest["time"]) == (local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S"))
    assert newest["dice"] == pytest.approx(220 / 255, abs=1e-3)
    assert [r["name"] for r in client.get("/api/data/getRecent", {"limit": 1}).json()] == ["weld-7.png"]
    assert client.get("/api/data/getRecent", {"limit": "x"}).status_code == 400


@pytest.mark.django_db
def test_stat_by_date_has_one_row_per_day_of_the_last_15_days(world_a, recorded):
    client = key_client(world_a)
    rows = client.get("/api/data/statByDate").json()
    today = timezone.localdate()
    assert len(rows) == 15
    assert rows[-1] == {"record_count": 3, "stat_date": today.isoformat(), "total_num": 2}
    assert rows[0]["stat_date"] == (today - timedelta(days=14)).isoformat() and rows[0]["record_count"] == 0
    start = (today - timedelta(days=2)).isoformat()
    ranged = client.get("/api/data/statByDate", {"startDate": start, "endDate": today.isoformat()}).json()
    assert [r["stat_date"] for r in ranged] == [(today - timedelta(days=d)).isoformat() for d in (2, 1, 0)]
    bad = client.get("/api/data/statByDate", {"startDate": "yesterday"})
    assert bad.status_code == 400 and "startDate" in bad.json()["error"]


@pytest.mark.django_db
def test_paginated_and_search(world_a, recorded):
    client = key_client(world_a)
    first = client.get("/api/data/getPaginated", {"limit": 2, "page": 1}).json()
    second = client.get("/api/data/getPaginated/", {"limit": 2, "page": 2}).json()
    assert first["total"] == 3 and len(first["data"]) == 2 and len(second["data"]) == 1
    assert all(set(row) == RECORD_FIELDS for row in first["data"])
    panels = client.get("/api/data/search", {"name": "panel", "limit": 10, "page": 1}).json()
    assert panels["total"] == 2 and {r["name"] for r in panels["data"]} == {"panel-001.png", "panel-002.png"}
    clean = client.get("/api/data/search", {"num": 0}).json()
    assert [r["name"] for r in clean["data"]] == ["panel-002.png"]
    today = timezone.localdate().isoformat()
    assert client.get("/api/data/search", {"startDate": today, "endDate": today}).json()["total"] == 3
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert client.get("/api/data/search", {"startDate": tomorrow}).json() == {"total": 0, "data": []}
    far = client.get("/api/data/search", {"page": 1_000_000_000, "limit": 1000}).json()  # the last page allowed
    assert far == {"total": 3, "data": []}
    for endpoint in ("/api/data/search", "/api/data/getPaginated"):
        beyond = client.get(endpoint, {"page": 2251043869878622720})  # an OFFSET past bigint: was a 500
        assert beyond.status_code == 400 and "page" in beyond.json()["error"], beyond.content


@pytest.mark.django_db
def test_records_are_scoped_to_the_callers_organization(world_a, world_b, recorded):
    theirs = key_client(world_b)
    assert theirs.get("/api/data/getRecent").json() == []
    assert theirs.get("/api/data/search").json() == {"total": 0, "data": []}
    assert all(row["record_count"] == 0 for row in theirs.get("/api/data/statByDate").json())
    token = world_a.client(Role.MANAGER)  # our API tokens work as well as key pairs
    assert len(token.get("/api/data/getRecent").json()) == 3
    assert world_a.client(Role.ANNOTATOR).get("/api/data/getRecent").status_code == 403
    assert APIClient().get("/api/data/getRecent").status_code == 401
