"""Saving an annotator's work: submit and draft, revisions, locks, ids, filters."""

from __future__ import annotations

import pytest

from annotations.models import Annotation, AnnotationRevision, Source
from audit.models import AuditEvent
from organizations.roles import Role
from tasks.models import Task, TaskStatus
from tests.annotations.conftest import BOX, box, claim, keyframe, track

pytestmark = pytest.mark.django_db


def test_seed_payload_submits_moves_to_submitted_and_releases_the_lock(desk):
    response = desk.submit([{**BOX, "attributes": {"color": "brown"}}])
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["revision"] == 1
    assert body["status"] == "submitted"
    (saved,) = body["annotations"]
    assert saved["type"] == "bbox" and saved["annotation_type"] == "bbox"
    assert saved["class_name"] == "dog"
    assert saved["geometry"] == {"x": 12.0, "y": 34.0, "width": 56.0, "height": 78.0}
    assert saved["attributes"] == {"color": "brown"}
    assert saved["source"] == "manual"
    assert saved["author"]["username"] == desk.annotator.username
    task = desk.refresh()
    assert task.status == TaskStatus.SUBMITTED
    assert task.locked_by_id is None and task.lock_expires_at is None
    assert task.annotation_revision == 1
    revision = AnnotationRevision.objects.get(task=task)
    assert revision.action == "submit" and revision.author == desk.annotator
    assert revision.summary["added"] == [saved["id"]]
    assert AuditEvent.objects.filter(action="annotation.submitted", object_id=str(task.pk)).exists()


def test_draft_keeps_the_task_in_progress_and_the_lock(desk):
    response = desk.draft([box()])
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "in_progress"
    task = desk.refresh()
    assert task.status == TaskStatus.IN_PROGRESS
    assert task.locked_by == desk.annotator
    assert task.annotation_revision == 1


def test_a_draft_that_changes_nothing_writes_no_revision(desk):
    first = desk.draft([box()], revision=0).json()
    again = desk.draft([{**first["annotations"][0]}], revision=1)
    assert again.status_code == 200, again.json()
    assert again.json()["revision"] == 1
    assert AnnotationRevision.objects.filter(task=desk.task).count() == 1


def test_shapes_with_ids_update_in_place_others_are_created_unlisted_are_deleted(desk):
    first = desk.draft([box(class_name="car"), box(x=100, class_name="person"), box(x=200)]).json()
    keep, drop, change = first["annotations"]
    changed = {**change, "geometry": {"x": 201, "y": 20, "width": 30, "height": 40}}
    response = desk.draft([keep, changed, box(x=300, class_name="dog")], revision=1)
    assert response.status_code == 200, response.json()
    ids = {a["id"] for a in response.json()["annotations"]}
    assert keep["id"] in ids and change["id"] in ids and drop["id"] not in ids
    assert len(ids) == 3
    latest = AnnotationRevision.objects.filter(task=desk.task).latest("number")
    added = sorted(ids - {keep["id"], change["id"]})
    assert latest.summary == {"added": added, "removed": [drop["id"]], "changed": [change["id"]]}
    assert Annotation.objects.get(pk=change["id"]).geometry["x"] == 201


def test_read_only_keys_sent_back_are_ignored(desk):
    saved = desk.draft([box()]).json()["annotations"][0]
    echo = {**saved, "source": "ai", "score": 0.1, "author": None, "label_id": 999}
    response = desk.draft([echo], revision=1)
    assert response.status_code == 200
    row = Annotation.objects.get(pk=saved["id"])
    assert row.source == Source.MANUAL and row.author == desk.annotator


def test_a_new_shape_may_be_ai_output_the_annotator_kept(desk):
    """SAM masks the workspace keeps are saved as ai-accepted with their model version; a
    hand edit of their geometry makes them the annotator's work."""
    kept = {**box(), "source": "ai-accepted", "model_version": "sam2.1_hiera_t", "score": 0.91}
    saved = desk.draft([kept, box(x=100)]).json()["annotations"]
    ai = Annotation.objects.get(pk=saved[0]["id"])
    assert (ai.source, ai.model_version, ai.score) == (Source.AI_ACCEPTED, "sam2.1_hiera_t", 0.91)
    assert Annotation.objects.get(pk=saved[1]["id"]).source == Source.MANUAL
    unchanged = desk.draft([saved[0], saved[1]], revision=1)
    assert unchanged.status_code == 200
    assert Annotation.objects.get(pk=ai.pk).source == Source.AI_ACCEPTED
    moved = desk.draft([{**saved[0], "geometry": {"x": 1, "y": 1, "width": 9, "height": 9}}, saved[1]])
    assert moved.status_code == 200
    assert Annotation.objects.get(pk=ai.pk).source == Source.MANUAL


@pytest.mark.parametrize("source", ["ai", "propagated", "imported", "robot"])
def test_a_saved_new_shape_cannot_claim_a_server_side_source(desk, source):
    response = desk.draft([{**box(), "source": source}])
    assert response.status_code == 400
    assert "shapes.0.source" in response.json()["errors"]
    assert not Annotation.objects.filter(task=desk.task).exists()


def test_stale_revision_is_409_with_the_current_revision(desk):
    desk.draft([box()], revision=0)
    response = desk.draft([box(x=5)], revision=0)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "stale_revision"
    assert body["current_revision"] == 1
    assert Annotation.objects.get(task=desk.task).geometry["x"] == 10


def test_saving_needs_the_lock(desk, world_a):
    manager = world_a.client(Role.MANAGER)
    response = manager.post(f"{desk.url}/annotations", {"shapes": [box()]}, format="json")
    assert response.status_code == 423
    assert response.json()["code"] == "task_locked"
    assert response.json()["locked_by"] == desk.annotator.username
    assert not Annotation.objects.filter(task=desk.task).exists()


def test_saving_an_unclaimed_task_says_claim_it_first(world_a, make_project):
    from tests.annotations.conftest import LABELS, new_task

    project = make_project(world_a, labels=LABELS)
    task = new_task(world_a, project)
    response = world_a.client(Role.ANNOTATOR).put(
        f"/api/v1/tasks/{task.pk}/annotations/draft", {"shapes": []}, format="json"
    )
    assert response.status_code == 423
    assert response.json()["code"] == "lock_required"


def test_an_expired_lock_no_longer_lets_you_save(desk):
    from datetime import timedelta

    from django.utils import timezone

    Task.objects.filter(pk=desk.task.pk).update(lock_expires_at=timezone.now() - timedelta(seconds=1))
    assert desk.draft([box()]).status_code == 423


def test_one_bad_shape_rejects_the_whole_request_with_every_reason(desk):
    shapes = [
        box(),
        box(w=0),
        {"type": "polygon", "class_name": "cat", "geometry": {"points": [[0, 0], [1, 1], [2, 2]]}},
        {**box(class_name="dog"), "attributes": {"color": "green"}},
        {"type": "bbox", "class_name": "car"},
    ]
    response = desk.submit(shapes)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "degenerate box" in errors["shapes.1.geometry"][0]
    assert "unknown class 'cat'" in errors["shapes.2.class_name"][0]
    assert "'green' is not one of" in errors["shapes.3.attributes.color"][0]
    assert "geometry must be an object" in errors["shapes.4.geometry"][0]
    assert "shapes.0.geometry" not in errors
    assert not Annotation.objects.filter(task=desk.task).exists()
    task = desk.refresh()
    assert task.status == TaskStatus.IN_PROGRESS and task.annotation_revision == 0


def test_an_id_of_another_task_is_refused(desk, world_a, desk_factory):
    other = desk_factory(world_a)
    saved = other.draft([box()]).json()["annotations"][0]
    response = desk.draft([{**box(), "id": saved["id"]}])
    assert response.status_code == 400
    assert "no annotation" in response.json()["errors"]["shapes.0.id"][0]


def test_the_same_id_twice_is_refused(desk):
    saved = desk.draft([box()]).json()["annotations"][0]
    response = desk.draft([saved, saved], revision=1)
    assert response.status_code == 400
    assert "send each annotation once" in response.json()["errors"]["shapes.1.id"][0]


def test_unknown_keys_in_a_shape_and_in_the_body_are_refused(desk):
    response = desk.draft([{**box(), "colour": "red"}])
    assert response.status_code == 400
    assert "unknown key" in response.json()["errors"]["shapes.0.colour"][0]
    response = desk.client().put(f"{desk.url}/annotations/draft", {"shapes": [], "rev": 1}, format="json")
    assert response.status_code == 400
    assert "Unknown field" in response.json()["errors"]["rev"][0]


def test_submit_of_a_reviewed_task_is_409_and_writes_nothing(desk):
    desk.submit([box()])
    Task.objects.filter(pk=desk.task.pk).update(status=TaskStatus.REVIEWED)
    claim_user = desk.annotator
    from django.utils import timezone

    Task.objects.filter(pk=desk.task.pk).update(locked_by=claim_user, lock_expires_at=timezone.now().replace(year=2999))
    response = desk.submit([box(x=1)])
    assert response.status_code == 409
    assert response.json()["code"] == "illegal_transition"
    assert Annotation.objects.get(task=desk.task).geometry["x"] == 10
    assert desk.refresh().annotation_revision == 1


def test_submit_without_review_completes_the_task(world_a, desk_factory):
    desk = desk_factory(world_a)
    desk.project.review_required = False
    desk.project.save()
    response = desk.submit([box()])
    assert response.status_code == 200
    assert response.json()["status"] == "completed"


def test_returned_work_is_resubmitted(desk, world_a):
    from tasks.services.lifecycle import transition_task

    desk.submit([box()])
    task = desk.refresh()
    transition_task(task, TaskStatus.RETURNED, actor=world_a.user(Role.REVIEWER), reason="fix it")
    Task.objects.filter(pk=task.pk).update(assignee=desk.annotator)
    claim(task, desk.annotator)
    response = desk.submit([box(x=3)], revision=1)
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "submitted"


def test_get_returns_the_current_set_and_revision(desk):
    desk.draft([box(), box(class_name="person"), {"type": "classification", "class_name": "dog"}])
    body = desk.current()
    assert body["revision"] == 1 and body["count"] == 3 and body["task_id"] == desk.task.pk


def test_filters_by_type_source_label_and_frame(video_desk):
    shapes = [
        {**box(class_name="car"), "frame_index": 3},
        {**box(class_name="person"), "frame_index": 4},
        track(keyframe(2), keyframe(6)),
        track(keyframe(10), keyframe(20), class_name="car"),
    ]
    assert video_desk.draft(shapes).status_code == 200
    on_frame_4 = video_desk.current(frame_index=4)["annotations"]
    assert sorted(a["type"] for a in on_frame_4) == ["bbox", "video_track"]
    assert len(video_desk.current(type="video_track")["annotations"]) == 2
    assert len(video_desk.current(type="rectanglelabels,video_track")["annotations"]) == 4
    assert len(video_desk.current(label="car")["annotations"]) == 2
    car_id = video_desk.project.labels.get(name="car").pk
    assert len(video_desk.current(label=str(car_id))["annotations"]) == 2
    assert len(video_desk.current(source="manual")["annotations"]) == 4
    assert video_desk.current(source="imported")["count"] == 0
    bad = video_desk.client().get(f"{video_desk.url}/annotations", {"type": "blob"})
    assert bad.status_code == 400 and "unknown type" in bad.json()["errors"]["type"][0]
    bad = video_desk.client().get(f"{video_desk.url}/annotations", {"source": "robot"})
    assert bad.status_code == 400


def test_list_query_count_is_constant(desk):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = desk.client()
    desk.draft([box(x=i) for i in range(2)])
    with CaptureQueriesContext(connection) as few:
        client.get(f"{desk.url}/annotations")
    desk.draft([box(x=i, class_name=("car", "dog")[i % 2]) for i in range(40)], revision=1)
    with CaptureQueriesContext(connection) as many:
        assert client.get(f"{desk.url}/annotations").json()["count"] == 40
    assert len(many) == len(few) <= 12


def test_single_annotation_endpoint(desk):
    saved = desk.draft([box()]).json()["annotations"][0]
    response = desk.client().get(f"{desk.url}/annotations/{saved['id']}")
    assert response.status_code == 200 and response.json()["id"] == saved["id"]
    assert desk.client().get(f"{desk.url}/annotations/999999999").status_code == 404
