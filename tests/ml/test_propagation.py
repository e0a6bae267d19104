"""SAM 2.1 propagation with the real tiny video predictor (random weights) on a 3-frame clip:
chains, the run record, progress events, cancel, clearing, and the 400s."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from annotations.models import Annotation
from annotations.services import write_annotations
from jobs.events import job_group
from jobs.models import Job
from jobs.services import request_cancel
from ml.actors import propagate_objects
from ml.models import PropagationRun
from organizations.roles import Role
from tests.ml.conftest import square_mask_shape

pytestmark = pytest.mark.django_db


def start(world, task, **body):
    payload = {"task_id": task.pk, "reference_frame": 0, "object_ids": ["1"], **body}
    return world.client(Role.ANNOTATOR).post("/api/v1/sam/propagations", payload, format="json")


def listen(group: str):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    return layer, channel


def received(layer, channel) -> list[dict]:
    async def drain():
        events = []
        while True:
            try:
                message = await asyncio.wait_for(layer.receive(channel), timeout=0.5)
            except TimeoutError:
                return events
            events.append(message["event"])

    return async_to_sync(drain)()


def test_propagation_writes_each_frame_as_the_jobs_chain_with_live_progress(
    sam_settings, world_a, clip, django_capture_on_commit_callbacks
):
    # A shape a person drew on frame 2 guides the tracking and is never overwritten.
    manual = write_annotations(
        clip, [square_mask_shape(2, "1", "car", 30, 16, 54, 40)], source="manual", actor=world_a.owner
    ).annotations[0]
    response = start(world_a, clip, direction="forward")
    assert response.status_code == 202, response.content
    run = PropagationRun.objects.get(pk=response.json()["id"])
    assert (run.start_frame, run.end_frame, run.job.kind) == (0, 2, "sam.propagation")
    layer, channel = listen(job_group(run.organization_id, run.job_id))

    with django_capture_on_commit_callbacks(execute=True):
        propagate_objects.fn(run.job_id)

    run.refresh_from_db()
    job = run.job
    assert job.status == "succeeded", (job.message, job.errors)
    assert (job.progress_done, job.progress_total) == (2, 2)
    chain = list(Annotation.objects.filter(task=clip, produced_by=job))
    assert {a.frame_index for a in chain} <= {1}
    assert Annotation.objects.get(pk=manual.pk).source == "manual"
    for annotation in chain:
        assert (annotation.source, annotation.object_id, annotation.type) == ("propagated", "1", "mask")
        assert annotation.label.name == "car" and annotation.geometry["rle"]["size"] == [64, 96]
    assert run.frames_processed == 2 and len(run.frame_seconds) == 2
    assert run.annotations_written == len(chain)
    assert run.seconds_per_frame > 0 and run.model_version.startswith("sam2.1_hiera_t@") and run.device == "cpu"
    assert run.created_by == world_a.user(Role.ANNOTATOR)

    events = [e for e in received(layer, channel) if e.get("type") == "job"]
    statuses = [e["status"] for e in events]
    assert statuses[0] == "running" and statuses[-1] == "succeeded"
    assert {e["done"] for e in events if e["status"] == "running"} >= {0, 1, 2}
    assert events[-1]["result"]["propagation_id"] == run.pk


def test_a_range_propagates_several_objects_both_ways_and_clearing_removes_exactly_that_chain(
    sam_settings, world_a, clip
):
    annotator = world_a.user(Role.ANNOTATOR)
    write_annotations(
        clip,
        [
            square_mask_shape(1, "1", "car", 24, 16, 48, 40),
            square_mask_shape(1, "2", "person", 60, 40, 80, 60),
            square_mask_shape(2, "9", "car", 2, 2, 12, 12),
        ],
        source="manual",
        actor=annotator,
        action="draft",
    )
    independent = write_annotations(
        clip, [square_mask_shape(0, "7", "person", 70, 5, 90, 15)], source="ai-accepted", actor=annotator
    ).annotations[0]
    body = {"reference_frame": 1, "object_ids": ["1", "2"], "direction": "range", "start_frame": 0, "end_frame": 2}
    response = start(world_a, clip, **body)
    assert response.status_code == 202, response.content
    run = PropagationRun.objects.get(pk=response.json()["id"])
    propagate_objects.fn(run.job_id)
    run.refresh_from_db()
    assert run.job.status == "succeeded", run.job.message
    chain = list(Annotation.objects.filter(produced_by=run.job))
    written = {(a.object_id, a.frame_index) for a in chain}
    # object 1 has its own shape on frame 0, so only frame 2 can be propagated for it
    assert written <= {("1", 2), ("2", 0), ("2", 2)}
    assert run.frames_processed == 2
    others = set(Annotation.objects.filter(task=clip).exclude(produced_by=run.job).values_list("pk", flat=True))
    assert independent.pk in others

    response = world_a.client(Role.ANNOTATOR).post(f"/api/v1/sam/propagations/{run.pk}/clear")
    assert response.status_code == 200
    assert response.json()["frames"] == sorted({a.frame_index for a in chain})
    assert not Annotation.objects.filter(produced_by=run.job).exists()
    assert set(Annotation.objects.filter(task=clip).values_list("pk", flat=True)) == others
    run.refresh_from_db()
    assert run.cleared_at is not None


def test_cancel_stops_after_the_current_frame_and_keeps_what_was_written(sam_settings, world_a, clip):
    run = PropagationRun.objects.get(pk=start(world_a, clip).json()["id"])
    request_cancel(run.job)
    propagate_objects.fn(run.job_id)
    run.refresh_from_db()
    assert run.job.status == "cancelled"
    assert run.frames_processed == 1
    assert set(Annotation.objects.filter(produced_by=run.job).values_list("frame_index", flat=True)) <= {1}
    propagate_objects.fn(run.job_id)  # a redelivered message is a no-op
    assert Job.objects.get(pk=run.job_id).attempts == 1


def test_reference_frame_without_a_mask_for_the_object_is_a_400(sam_settings, world_a, clip):
    response = start(world_a, clip, object_ids=["1", "42"])
    assert response.status_code == 400
    assert "Frame 0 has no mask for object 42" in response.json()["message"]
    response = start(world_a, clip, reference_frame=1)
    assert response.status_code == 400
    assert not PropagationRun.objects.exists()


def test_impossible_ranges_are_400(sam_settings, world_a, clip):
    assert start(world_a, clip, reference_frame=7).status_code == 400
    assert start(world_a, clip, direction="backward").status_code == 400  # nothing before frame 0
    assert start(world_a, clip, direction="range", start_frame=1, end_frame=2).status_code == 400


def test_a_running_chain_can_be_neither_cleared_nor_started_twice(sam_settings, world_a, clip):
    first = start(world_a, clip).json()
    assert start(world_a, clip).status_code == 409
    response = world_a.client(Role.ANNOTATOR).delete(f"/api/v1/sam/propagations/{first['id']}")
    assert response.status_code == 409 and "cancel it" in response.json()["message"]


def test_another_organization_sees_no_run_and_cannot_propagate_on_our_task(sam_settings, world_a, world_b, clip):
    run_id = start(world_a, clip).json()["id"]
    client = world_b.client()
    assert client.get(f"/api/v1/sam/propagations/{run_id}").status_code == 404
    assert client.post(f"/api/v1/sam/propagations/{run_id}/clear").status_code == 404
    assert client.get("/api/v1/sam/propagations").json()["count"] == 0
    response = client.post(
        "/api/v1/sam/propagations", {"task_id": clip.pk, "reference_frame": 0, "object_ids": ["1"]}, format="json"
    )
    assert response.status_code == 404


def test_a_task_someone_else_is_working_on_is_423(sam_settings, world_a, clip):
    from tasks.services.claims import claim_next_task

    assert claim_next_task(user=world_a.owner, project=clip.project).pk == clip.pk
    response = start(world_a, clip)
    assert response.status_code == 423 and response.json()["code"] == "task_locked"


def test_the_run_list_takes_a_constant_number_of_queries(sam_settings, world_a, clip, django_assert_max_num_queries):
    start(world_a, clip)
    client = world_a.client(Role.ANNOTATOR)
    client.get("/api/v1/sam/propagations")
    with django_assert_max_num_queries(12):
        body = client.get("/api/v1/sam/propagations", {"task": clip.pk}).json()
    assert body["count"] == 1 and body["results"][0]["job"]["kind"] == "sam.propagation"
