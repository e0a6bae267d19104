"""SAM 2.1 click/box → mask with the real tiny model (random weights) on tiny frames: shapes,
the embedding cache, the round trip through the interactive lane (even while every worker
thread runs a job) or the actor, and the no-checkpoint answer."""

from __future__ import annotations

import threading

import dramatiq
import pytest

from annotations.geometry import polygons_to_mask, rle_area, rle_decode
from ml.engine.embeddings import Embedding, EmbeddingCache
from ml.services import sam
from organizations.roles import Role
from tests.ml.conftest import LABELS, import_pictures, scene

pytestmark = pytest.mark.django_db


@pytest.fixture
def picture_task(world_a, make_project):
    project = make_project(world_a, kind="image", labels=LABELS)
    return import_pictures(world_a, project, [scene(width=120, height=80)])


def test_points_give_three_masks_as_polygons_and_rle_best_first(sam_settings, picture_task):
    result = sam.compute_masks(task=picture_task, frame_index=0, points=[[30.5, 25.5], [5.0, 5.0]], point_labels=[1, 0])
    assert (result["width"], result["height"]) == (120, 80)
    assert result["model_version"].startswith("sam2.1_hiera_t@")
    masks = result["masks"]
    assert len(masks) == 3
    assert [m["score"] for m in masks] == sorted((m["score"] for m in masks), reverse=True)
    for mask in masks:
        decoded = rle_decode(mask["rle"])
        assert decoded.shape == (80, 120)
        assert mask["area"] == rle_area(mask["rle"]) == int(decoded.sum())
        if mask["area"]:
            # polygons (holes included) describe the same pixels as the RLE
            redrawn = polygons_to_mask(mask["polygons"], 80, 120)
            assert (redrawn == decoded).mean() > 0.99
            for polygon in mask["polygons"]:
                assert set(polygon) == {"exterior", "holes"}


def test_box_with_single_mask_output(sam_settings, picture_task):
    result = sam.compute_masks(
        task=picture_task,
        frame_index=0,
        points=[],
        point_labels=[],
        box=[10, 10, 60, 50],
        multimask_output=False,
        include_polygons=False,
    )
    (mask,) = result["masks"]
    assert "polygons" not in mask and mask["rle"]["size"] == [80, 120]


def test_embedding_is_computed_once_per_frame_then_cached(sam_settings, picture_task):
    first = sam.compute_masks(task=picture_task, frame_index=0, points=[[30, 25]], point_labels=[1])
    second = sam.compute_masks(task=picture_task, frame_index=0, points=[[60, 40]], point_labels=[1])
    assert first["timing"]["embedding_cached"] is False
    assert second["timing"]["embedding_cached"] is True
    assert second["timing"]["embedding_ms"] < first["timing"]["embedding_ms"]
    from ml.engine.sam import get_engine

    engine = get_engine()
    assert len(engine.embeddings) == 1
    (key,) = engine.embeddings._items
    frame = picture_task.frames.get(index=0)
    assert key == (("asset", frame.asset_id, frame.asset_frame), engine.model_version)


def test_embedding_cache_evicts_least_recently_used_by_count_and_bytes():
    def entry(nbytes):
        return Embedding(features={}, orig_hw=(1, 1), nbytes=nbytes)

    cache = EmbeddingCache(max_items=2, max_bytes=100)
    cache.put("a", entry(10))
    cache.put("b", entry(10))
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("c", entry(10))
    assert "b" not in cache and "a" in cache and "c" in cache
    cache.put("d", entry(95))  # bytes: only d fits
    assert list(cache._items) == ["d"] and cache.nbytes == 95
    assert cache.stats()["hits"] == 1


def test_prompt_outside_the_frame_is_a_400(sam_settings, world_a, picture_task):
    response = world_a.client(Role.ANNOTATOR).post(
        "/api/v1/sam/masks",
        {"task_id": picture_task.pk, "points": [[500, 10]], "point_labels": [1]},
        format="json",
    )
    assert response.status_code == 400
    assert "outside the 120x80 frame" in response.json()["message"]


def test_another_organizations_task_is_404(sam_settings, world_b, picture_task):
    response = world_b.client(Role.ANNOTATOR).post(
        "/api/v1/sam/masks", {"task_id": picture_task.pk, "points": [[5, 5]], "point_labels": [1]}, format="json"
    )
    assert response.status_code == 404


def test_without_checkpoint_sam_answers_503_saying_how_to_configure_and_the_rest_works(no_sam, world_a, picture_task):
    client = world_a.client(Role.ANNOTATOR)
    for url, body in [
        ("/api/v1/sam/masks", {"task_id": picture_task.pk, "points": [[5, 5]], "point_labels": [1]}),
        ("/api/v1/sam/embeddings", {"task_id": picture_task.pk}),
        ("/api/v1/sam/propagations", {"task_id": picture_task.pk, "reference_frame": 0, "object_ids": ["1"]}),
    ]:
        response = client.post(url, body, format="json")
        assert response.status_code == 503, url
        assert response.json()["code"] == "sam_not_configured"
        assert "SAM2_CHECKPOINT" in response.json()["message"]
    status = client.get("/api/v1/sam/status").json()
    assert status["configured"] is False and "SAM2_CONFIG" in status["message"]
    assert set(status["sizes"]) == {"tiny", "small", "base_plus", "large"}
    assert client.get(f"/api/v1/tasks/{picture_task.pk}").status_code == 200
    assert world_a.client(Role.MANAGER).get("/api/v1/ml/models").status_code == 200


def test_worker_without_the_checkpoint_file_answers_503(settings, picture_task):
    from ml import replies

    settings.SAM2_CHECKPOINT = "/nonexistent/sam2.1_hiera_tiny.pt"
    key = replies.new_reply_key()
    sam.answer_mask_request(
        {
            "reply_key": key,
            "organization_id": picture_task.organization_id,
            "task_id": picture_task.pk,
            "frame_index": 0,
            "picture": ["asset", 0, 0],
            "points": [[5, 5]],
            "point_labels": [1],
        }
    )
    answer = replies.wait_reply(key, 5)
    assert answer["status"] == 503 and "is not a file" in answer["error"]


@pytest.fixture
def queued_picture_task(world_a, make_project):
    """A picture task made before the test's worker starts (its fixture drops queued messages)."""
    project = make_project(world_a, kind="image", labels=LABELS)
    return import_pictures(world_a, project, [scene()])


_release_workers = threading.Event()
_busy_workers = threading.Semaphore(0)


@dramatiq.actor(queue_name="ml", max_retries=0)
def hold_a_worker_thread() -> None:
    """A long job: keeps one Dramatiq worker thread busy until the test lets it go."""
    _busy_workers.release()
    _release_workers.wait(timeout=60)


@pytest.mark.django_db(transaction=True)
def test_click_is_answered_while_every_worker_thread_runs_a_job(
    sam_settings, queued_picture_task, stub_worker, world_a
):
    _release_workers.clear()
    for _ in range(2):  # the stub worker has two threads: both now run a long job
        hold_a_worker_thread.send()
    for _ in range(2):
        assert _busy_workers.acquire(timeout=10)
    try:
        click_round_trip(queued_picture_task, world_a)
    finally:
        _release_workers.set()


def click_round_trip(task, world_a):
    """Two clicks through the API, the interactive lane and the reply channel."""
    client = world_a.client(Role.REVIEWER)
    body = {"task_id": task.pk, "frame_index": 0, "points": [[30, 25]], "point_labels": [1]}
    response = client.post("/api/v1/sam/masks", body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert len(data["masks"]) == 3 and data["timing"]["embedding_cached"] is False
    again = client.post("/api/v1/sam/masks", {**body, "multimask_output": False}, format="json").json()
    assert len(again["masks"]) == 1 and again["timing"]["embedding_cached"] is True
    assert again["timing"]["total_ms"] >= again["timing"]["worker_ms"]


def test_a_click_nobody_answers_is_503_busy(sam_settings, settings, world_a, picture_task):
    settings.ML_INTERACTIVE_TIMEOUT_SECONDS = 0.2  # no worker runs in this test
    task = picture_task
    response = world_a.client().post(
        "/api/v1/sam/masks", {"task_id": task.pk, "points": [[5, 5]], "point_labels": [1]}, format="json"
    )
    assert response.status_code == 503 and response.json()["code"] == "sam_busy"
    # The click stays in the lane until its deadline; a later worker skips it unanswered.


def test_replies_travel_in_process_on_the_embedded_default(settings):
    from ml import replies

    settings.REDIS_URL = None  # embedded default: web and worker threads share one process
    key = replies.new_reply_key()
    threading.Timer(0.05, replies.send_reply, args=(key, {"result": 42})).start()
    assert replies.wait_reply(key, 5) == {"result": 42}
    assert replies.wait_reply(replies.new_reply_key(), 0.05) is None


@pytest.fixture
def without_redis_replies(settings):
    settings.REDIS_URL = None  # the embedded default: clicks travel the sam_interactive actor
    return settings


@pytest.mark.django_db(transaction=True)
def test_without_redis_a_click_travels_the_actor_and_an_in_process_reply(
    sam_settings, queued_picture_task, without_redis_replies, stub_worker, world_a
):
    body = {"task_id": queued_picture_task.pk, "points": [[30, 25]], "point_labels": [1], "multimask_output": False}
    response = world_a.client(Role.ANNOTATOR).post("/api/v1/sam/masks", body, format="json")
    assert response.status_code == 200, response.content
    assert len(response.json()["masks"]) == 1
