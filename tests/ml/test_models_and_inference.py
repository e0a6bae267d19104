"""Organization models (upload → register → validate in the worker) and batch inference
(infer → record → result image → recent / stats by date / search), with tiny TorchScript
models built by the tests."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from audit.models import AuditEvent
from ml.actors import run_inference, validate_model
from ml.engine.torchscript import infer
from ml.models import InferenceModel, InferenceRecord, InferenceRun
from organizations.roles import Role
from tests.ml.conftest import blank, png, scene
from tests.ml.tiny_models import LABEL_MAP

pytestmark = pytest.mark.django_db


def upload_form(data: bytes, **fields) -> dict:
    return {
        "file": SimpleUploadedFile("detector.pt", data),
        "name": "defects",
        "kind": "detection",
        "input_width": 48,
        "input_height": 32,
        "label_map": json.dumps(LABEL_MAP),
        "mean": json.dumps([0, 0, 0]),
        "std": json.dumps([1, 1, 1]),
        **fields,
    }


def images(*pictures, names=None) -> list[SimpleUploadedFile]:
    names = names or [f"part-{i}.png" for i in range(len(pictures))]
    return [SimpleUploadedFile(n, png(p), content_type="image/png") for n, p in zip(names, pictures, strict=True)]


def test_registering_stores_the_file_under_the_org_prefix_versions_it_and_validates_in_the_worker(
    world_a, torchscript_files
):
    client = world_a.client(Role.MANAGER)
    first = client.post("/api/v1/ml/models", upload_form(torchscript_files["detection"]), format="multipart")
    assert first.status_code == 201, first.content
    body = first.json()
    assert (body["version"], body["version_label"], body["status"]) == (1, "defects:v1", "validating")
    model = InferenceModel.objects.get(pk=body["id"])
    assert model.file.startswith(f"orgs/{world_a.org.pk}/ml/models/defects/v1/")
    assert default_storage.exists(model.file) and model.size_bytes == len(torchscript_files["detection"])
    validate_model.fn(model.pk)
    assert client.get(f"/api/v1/ml/models/{model.pk}").json()["status"] == "ready"
    second = client.post("/api/v1/ml/models", upload_form(torchscript_files["detection"]), format="multipart")
    assert second.json()["version"] == 2
    assert AuditEvent.objects.filter(organization=world_a.org, action="model.registered").count() == 2
    listed = client.get("/api/v1/ml/models", {"name": "defects"}).json()
    assert [m["version"] for m in listed["results"]] == [2, 1]


def test_a_file_that_is_not_torchscript_is_refused(world_a):
    response = world_a.client().post("/api/v1/ml/models", upload_form(b"not a model"), format="multipart")
    assert response.status_code == 400
    assert "torch.jit.save" in response.json()["message"]


def test_a_label_map_with_a_repeated_index_is_refused(world_a, torchscript_files):
    label_map = json.dumps([{"index": 0, "name": "a"}, {"index": 0, "name": "b"}])
    form = upload_form(torchscript_files["detection"], label_map=label_map)
    response = world_a.client().post("/api/v1/ml/models", form, format="multipart")
    assert response.status_code == 400 and "label_map.1.index" in response.json()["errors"]


def test_a_model_breaking_its_kinds_contract_is_marked_invalid_and_cannot_run(world_a, register):
    model = register("detection", file="broken")
    assert model.status == "invalid"
    assert "boxes" in model.status_message
    response = world_a.client().post(
        "/api/v1/ml/inference-runs", {"images": images(scene()), "model_id": model.pk}, format="multipart"
    )
    assert response.status_code == 409


def test_one_default_detection_model_per_organization(world_a, register):
    first, second = register(name="a"), register(name="b")
    client = world_a.client(Role.ADMIN)
    assert client.post(f"/api/v1/ml/models/{first.pk}/set-default").json()["is_default_detection"] is True
    assert client.post(f"/api/v1/ml/models/{second.pk}/set-default").status_code == 200
    first.refresh_from_db()
    assert first.is_default_detection is False
    classifier = register("classification")
    assert client.post(f"/api/v1/ml/models/{classifier.pk}/set-default").status_code == 400
    response = client.post("/api/v1/ml/inference-runs", {"images": images(scene())}, format="multipart")
    assert InferenceRun.objects.get(pk=response.json()["id"]).model_id == second.pk


def test_without_a_model_or_a_default_inference_is_a_400(world_a):
    response = world_a.client().post("/api/v1/ml/inference-runs", {"images": images(scene())}, format="multipart")
    assert response.status_code == 400 and "default detection model" in response.json()["message"]


def test_an_undecodable_image_is_a_400_naming_it(world_a, register):
    register()
    files = [*images(scene()), SimpleUploadedFile("broken.png", b"\x89PNG nope", content_type="image/png")]
    response = world_a.client().post(
        "/api/v1/ml/inference-runs", {"images": files, "model_id": InferenceModel.objects.get().pk}, format="multipart"
    )
    assert response.status_code == 400
    assert "broken.png" in response.json()["message"]
    assert not InferenceRun.objects.exists()


@pytest.fixture
def inferred(world_a, register):
    """Three images through one batch: two with the bright square, one empty."""
    model = register(make_default_detection=True)
    files = images(scene(), scene(shift=20), blank(), names=["left.png", "right.png", "empty.png"])
    response = world_a.client().post("/api/v1/ml/inference-runs", {"images": files}, format="multipart")
    assert response.status_code == 202, response.content
    run = InferenceRun.objects.get(pk=response.json()["id"])
    assert [r["status"] for r in response.json()["records"]] == ["pending"] * 3
    run_inference.fn(run.job_id)
    return model, run


def test_batch_inference_gives_per_image_results_and_records_every_image(world_a, inferred):
    _model, run = inferred
    body = world_a.client().get(f"/api/v1/ml/inference-runs/{run.pk}").json()
    assert body["job"]["status"] == "succeeded" and body["model_version"] == "detection-model:v1"
    left, right, empty = body["records"]
    assert [r["image_name"] for r in body["records"]] == ["left.png", "right.png", "empty.png"]
    assert (left["object_count"], left["labels"], empty["object_count"], empty["labels"]) == (1, ["vehicle"], 0, [])
    assert 0.5 < left["confidence"] <= 1 and empty["confidence"] is None
    assert all(r["processing_ms"] > 0 and r["status"] == "done" for r in body["records"])
    # boxes come back in the original image's pixels (the model saw 48x32)
    x, y, w, h = left["results"][0]["box"]
    assert abs(x - 20) <= 2 and abs(y - 16) <= 2 and abs(w - 24) <= 2 and abs(h - 24) <= 2
    assert right["results"][0]["box"][0] > x + 15
    picture = world_a.client().get(left["result_image_url"])
    assert picture.status_code == 200 and picture["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(picture.content)).size == (96, 64)
    stored = InferenceRecord.objects.get(pk=left["id"]).result_image_path
    assert stored.startswith(f"orgs/{world_a.org.pk}/ml/inference/{run.pk}/results/")


def test_records_answer_recent_stats_by_date_and_search_with_paging(world_a, inferred):
    _, _run = inferred
    client = world_a.client(Role.MANAGER)
    yesterday = timezone.now() - timedelta(days=1)
    InferenceRecord.objects.filter(image_name="empty.png").update(created_at=yesterday)

    recent = client.get("/api/v1/ml/inference-records/recent", {"limit": 2}).json()
    assert [r["image_name"] for r in recent] == ["right.png", "left.png"]

    stats = client.get("/api/v1/ml/inference-records/stats-by-date").json()
    by_day = {row["stat_date"]: row for row in stats}
    today = timezone.localdate().isoformat()
    assert by_day[today] == {"stat_date": today, "record_count": 2, "total_objects": 2}
    assert by_day[yesterday.date().isoformat()]["record_count"] == 1
    assert client.get("/api/v1/ml/inference-records/stats-by-date", {"start_date": today}).json() == [by_day[today]]

    def search(**params):
        return client.get("/api/v1/ml/inference-records", params).json()

    assert search()["count"] == 3
    assert [r["image_name"] for r in search(name="LEF")["results"]] == ["left.png"]
    assert [r["image_name"] for r in search(object_count=0)["results"]] == ["empty.png"]
    assert search(label="vehicle")["count"] == 2 and search(label="person")["count"] == 0
    assert search(start_date=today)["count"] == 2 and search(end_date=yesterday.date().isoformat())["count"] == 1
    page = search(limit=1, offset=1)
    assert page["count"] == 3 and len(page["results"]) == 1 and page["results"][0]["image_name"] == "left.png"
    assert client.get("/api/v1/ml/inference-records", {"colour": "red"}).status_code == 400


def test_segmentation_and_classification_models_follow_their_contracts(register):
    segmenter, classifier = register("segmentation"), register("classification")
    assert segmenter.status == classifier.status == "ready"
    regions = infer(segmenter, scene())
    assert len(regions.found) == 1 and regions.found[0].label == "vehicle"
    assert regions.found[0].polygons and regions.found[0].rle["size"] == [64, 96]
    x, _y, w, _h = regions.found[0].box
    assert abs(x - 20) <= 2 and abs(w - 24) <= 2
    assert [f.label for f in infer(classifier, scene()).found] == ["vehicle"]
    assert [f.label for f in infer(classifier, np.zeros((64, 96, 3), np.uint8)).found] == ["person"]


@pytest.mark.django_db(transaction=True)
def test_a_request_can_wait_for_the_worker_and_get_every_result_at_once(world_a, register, stub_worker):
    model = register()
    response = world_a.client().post(
        "/api/v1/ml/inference-runs",
        {"images": images(scene(), scene(shift=8)), "model_id": model.pk, "wait": 30},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert [r["object_count"] for r in response.json()["records"]] == [1, 1]
    assert response.json()["job"]["status"] == "succeeded"


def test_lists_take_a_constant_number_of_queries(world_a, inferred, register, django_assert_max_num_queries):
    client = world_a.client(Role.MANAGER)
    client.get("/api/v1/ml/models")  # warm the token and membership lookups
    for url in (
        "/api/v1/ml/models",
        "/api/v1/ml/inference-runs",
        "/api/v1/ml/inference-records",
        "/api/v1/ml/auto-annotations",
        "/api/v1/ml/evaluations",
    ):
        with django_assert_max_num_queries(12):
            assert client.get(url).status_code == 200
    register(name="another")  # more rows, same number of queries
    with django_assert_max_num_queries(12):
        client.get("/api/v1/ml/models")
