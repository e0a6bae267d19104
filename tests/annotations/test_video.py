"""Video tracks through the API: interpolated frames, convert-to-bboxes, track compositions."""

from __future__ import annotations

import pytest

from annotations.geometry import track_frames
from annotations.models import Annotation, AnnotationRevision
from audit.models import AuditEvent
from organizations.roles import Role
from tests.annotations.conftest import box, keyframe, track, video_bbox

pytestmark = pytest.mark.django_db

RESPONSE_KEYS = {"source_annotation", "created_annotations", "deleted_source", "removed_frame_indexes", "revision"}
COMPOSED_KEYS = {"updated_annotations", "created_annotations", "deleted_annotation_ids", "revision"}


def make(desk, *shapes):
    """Add ``shapes`` to the task's set (a draft save); returns them as saved, in order."""
    current = desk.current()
    response = desk.draft([*current["annotations"], *shapes], revision=current["revision"])
    assert response.status_code == 200, response.json()
    old = {a["id"] for a in current["annotations"]}
    return sorted((a for a in response.json()["annotations"] if a["id"] not in old), key=lambda a: a["id"])


def convert(desk, annotation_id, role=Role.ANNOTATOR, **body):
    return desk.client(role).post(
        f"{desk.url}/annotations/{annotation_id}/video/convert-to-bboxes", body, format="json"
    )


def compose(desk, role=Role.ANNOTATOR, **body):
    return desk.client(role).post(f"{desk.url}/annotations/video/track-compositions", body, format="json")


# --- interpolated frames ----------------------------------------------------------------------
def test_track_frames_endpoint_uses_the_shared_interpolation(video_desk):
    (t,) = make(video_desk, track(keyframe(0, x=0.0), keyframe(4, x=0.4), keyframe(6, absent=True), keyframe(8)))
    response = video_desk.client(Role.REVIEWER).get(f"{video_desk.url}/annotations/{t['id']}/video/frames")
    assert response.status_code == 200
    frames = response.json()["frames"]
    assert frames == list(track_frames(t["geometry"]["keyframes"]))
    assert [f["frame_index"] for f in frames] == [0, 1, 2, 3, 4, 8]
    assert frames[2]["bbox"]["x"] == pytest.approx(0.2) and frames[2]["keyframe"] is False
    window = video_desk.client().get(f"{video_desk.url}/annotations/{t['id']}/video/frames", {"from": 2, "to": 4})
    assert [f["frame_index"] for f in window.json()["frames"]] == [2, 3, 4]
    (b,) = make(video_desk, video_bbox(3))
    not_track = video_desk.client().get(f"{video_desk.url}/annotations/{b['id']}/video/frames")
    assert not_track.status_code == 400


# --- convert-to-bboxes -------------------------------------------------------------------------
def test_seed_copy_track_all_frames_equals_the_interpolation(video_desk):
    (t,) = make(video_desk, track(keyframe(0, x=0.0), keyframe(10, x=0.5, occluded=True), keyframe(12, x=0.6)))
    response = convert(video_desk, t["id"], operation="copy", scope="track", frame_mode="all_frames")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == RESPONSE_KEYS
    assert body["deleted_source"] is False and body["removed_frame_indexes"] == []
    assert body["source_annotation"]["geometry"] == t["geometry"]
    expected = list(track_frames(t["geometry"]["keyframes"]))
    created = body["created_annotations"]
    assert [c["frame_index"] for c in created] == [f["frame_index"] for f in expected] == list(range(13))
    for c, frame in zip(created, expected, strict=True):
        assert c["type"] == "video_bbox" and c["class_name"] == "person" and c["object_id"] == t["object_id"]
        assert {k: c["geometry"][k] for k in "xywh"} == frame["bbox"]
        assert c["geometry"].get("occluded", False) == frame["occluded"]
    assert body["revision"] == 2
    assert AuditEvent.objects.filter(action="annotation.track_converted").exists()


def test_copy_keyframes_only(video_desk):
    (t,) = make(video_desk, track(keyframe(0), keyframe(5, absent=True), keyframe(9)))
    body = convert(video_desk, t["id"], operation="copy", scope="track").json()
    assert [c["frame_index"] for c in body["created_annotations"]] == [0, 9]


def test_copy_one_interpolated_frame(video_desk):
    (t,) = make(video_desk, track(keyframe(0, x=0.0), keyframe(10, x=0.5)))
    body = convert(video_desk, t["id"], operation="copy", scope="frame", frame_index=4).json()
    (c,) = body["created_annotations"]
    assert c["frame_index"] == 4 and c["geometry"]["x"] == pytest.approx(0.2)


def test_split_one_frame_takes_it_out_of_the_track_only(video_desk):
    (t,) = make(video_desk, track(keyframe(0, x=0.0), keyframe(10, x=0.5)))
    before = {f["frame_index"]: f["bbox"] for f in track_frames(t["geometry"]["keyframes"])}
    body = convert(video_desk, t["id"], operation="split", scope="frame", frame_index=4).json()
    assert body["deleted_source"] is False and body["removed_frame_indexes"] == [4]
    after = {f["frame_index"]: f["bbox"] for f in track_frames(body["source_annotation"]["geometry"]["keyframes"])}
    assert set(after) == set(before) - {4}
    for index, bbox in after.items():
        assert bbox == pytest.approx(before[index])
    assert Annotation.objects.get(pk=t["id"]).geometry == body["source_annotation"]["geometry"]


def test_split_the_last_frame_deletes_the_track(video_desk):
    (t,) = make(video_desk, track(keyframe(3)))
    body = convert(video_desk, t["id"], operation="split", scope="frame", frame_index=3).json()
    assert body["deleted_source"] is True and body["source_annotation"]["id"] == t["id"]
    assert not Annotation.objects.filter(pk=t["id"]).exists()


def test_split_whole_track_deletes_the_source(video_desk):
    (t,) = make(video_desk, track(keyframe(0), keyframe(3)))
    body = convert(video_desk, t["id"], operation="split", scope="track", frame_mode="keyframes").json()
    assert body["deleted_source"] is True and body["removed_frame_indexes"] == [0, 3]
    assert [c["frame_index"] for c in body["created_annotations"]] == [0, 3]
    assert Annotation.objects.filter(task=video_desk.task).count() == 2


def test_convert_refusals(video_desk, world_a, desk_factory):
    (t, b) = make(video_desk, track(keyframe(2), keyframe(5)), video_bbox(1))
    wrong = convert(video_desk, b["id"], operation="copy", scope="track")
    assert (
        wrong.status_code == 400 and "is a video_bbox, not a video_track" in wrong.json()["errors"]["annotation_id"][0]
    )
    hidden = convert(video_desk, t["id"], operation="copy", scope="frame", frame_index=9)
    assert hidden.status_code == 400 and "not visible at frame 9 (it shows frames 2-5" in hidden.json()["message"]
    missing = convert(video_desk, t["id"], operation="copy", scope="frame")
    assert "frame_index is required" in missing.json()["errors"]["frame_index"][0]
    bad = convert(video_desk, t["id"], operation="move", scope="everything")
    assert set(bad.json()["errors"]) == {"operation", "scope"}
    stale = convert(video_desk, t["id"], operation="copy", scope="track", revision=0)
    assert stale.status_code == 409 and stale.json()["current_revision"] == 1
    assert convert(video_desk, 99999999, operation="copy", scope="track").status_code == 404
    locked = convert(video_desk, t["id"], role=Role.MANAGER, operation="copy", scope="track")
    assert locked.status_code == 423
    assert convert(video_desk, t["id"], role=Role.REVIEWER, operation="copy", scope="track").status_code == 403
    assert Annotation.objects.filter(task=video_desk.task).count() == 2


# --- compositions ---------------------------------------------------------------------------------
def test_seed_aggregate_bboxes_into_one_track(video_desk):
    a, b, c = make(video_desk, video_bbox(8, x=0.3), video_bbox(0, x=0.1), video_bbox(4, x=0.2))
    response = compose(
        video_desk, operation="aggregate_bboxes", annotation_ids=[a["id"], b["id"], c["id"]], delete_sources=True
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == COMPOSED_KEYS
    assert body["updated_annotations"] == []
    assert sorted(body["deleted_annotation_ids"]) == sorted([a["id"], b["id"], c["id"]])
    (t,) = body["created_annotations"]
    assert t["type"] == "video_track" and t["class_name"] == "person"
    assert [(k["frame_index"], k["bbox"]["x"]) for k in t["geometry"]["keyframes"]] == [(0, 0.1), (4, 0.2), (8, 0.3)]
    assert not Annotation.objects.filter(pk__in=[a["id"], b["id"], c["id"]]).exists()
    assert AnnotationRevision.objects.get(task=video_desk.task, number=body["revision"]).action == "compose"
    assert AuditEvent.objects.filter(action="annotation.tracks_composed").exists()


def test_aggregate_keeps_sources_unless_asked(video_desk):
    a, b = make(video_desk, video_bbox(0), video_bbox(1))
    body = compose(video_desk, operation="aggregate_bboxes", annotation_ids=[a["id"], b["id"]]).json()
    assert body["deleted_annotation_ids"] == []
    assert Annotation.objects.filter(task=video_desk.task).count() == 3


def test_aggregate_refusals_name_the_conflict(video_desk, world_a, world_b, desk_factory):
    a, b, c, d = make(video_desk, video_bbox(0), video_bbox(0), video_bbox(1, class_name="car"), box())
    dup = compose(video_desk, operation="aggregate_bboxes", annotation_ids=[a["id"], b["id"]])
    assert (
        dup.status_code == 400 and f"annotations {a['id']} and {b['id']} are both on frame 0" in dup.json()["message"]
    )
    cls = compose(video_desk, operation="aggregate_bboxes", annotation_ids=[a["id"], c["id"]])
    assert cls.status_code == 400 and "different classes" in cls.json()["message"] and "'car'" in cls.json()["message"]
    kind = compose(video_desk, operation="aggregate_bboxes", annotation_ids=[a["id"], d["id"]])
    assert kind.status_code == 400 and f"annotation {d['id']} is a bbox" in kind.json()["message"]
    twice = compose(video_desk, operation="aggregate_bboxes", annotation_ids=[a["id"], a["id"]])
    assert twice.status_code == 400 and "listed twice" in twice.json()["message"]
    other = desk_factory(world_a, kind="video", frames=10)
    (elsewhere,) = make(other, video_bbox(2))
    other_task = compose(video_desk, operation="aggregate_bboxes", annotation_ids=[a["id"], elsewhere["id"]])
    assert other_task.status_code == 400 and "belongs to task" in other_task.json()["message"]
    foreign = desk_factory(world_b, kind="video", frames=10)
    (theirs,) = make(foreign, video_bbox(2))
    assert compose(video_desk, operation="aggregate_bboxes", annotation_ids=[a["id"], theirs["id"]]).status_code == 404
    assert compose(video_desk, operation="aggregate_bboxes").json()["errors"]["annotation_ids"]
    assert Annotation.objects.filter(task=video_desk.task).count() == 4


def test_split_track_after_a_visible_frame(video_desk):
    (t,) = make(video_desk, track(keyframe(0, x=0.0), keyframe(10, x=0.5)))
    body = compose(video_desk, operation="split_track", annotation_id=t["id"], frame_index=3).json()
    (first,) = body["updated_annotations"]
    (second,) = body["created_annotations"]
    assert body["deleted_annotation_ids"] == []
    assert first["id"] == t["id"] and second["geometry"]["track_id"] != t["geometry"]["track_id"]
    assert second["object_id"] == second["geometry"]["track_id"]
    one = [f["frame_index"] for f in track_frames(first["geometry"]["keyframes"])]
    two = [f["frame_index"] for f in track_frames(second["geometry"]["keyframes"])]
    assert one == [0, 1, 2, 3] and two == list(range(4, 11))
    assert second["geometry"]["keyframes"][0]["bbox"]["x"] == pytest.approx(0.2)


def test_split_track_refusals(video_desk):
    t, b = make(video_desk, track(keyframe(0), keyframe(2, absent=True), keyframe(5)), video_bbox(1))
    hidden = compose(video_desk, operation="split_track", annotation_ids=[t["id"]], frame_index=3)
    assert hidden.status_code == 400 and "frame 3 is not a visible frame" in hidden.json()["message"]
    end = compose(video_desk, operation="split_track", annotation_ids=[t["id"]], frame_index=5)
    assert "nothing after it" in end.json()["message"]
    wrong = compose(video_desk, operation="split_track", annotation_ids=[b["id"]], frame_index=1)
    assert "split_track takes video_track" in wrong.json()["message"]
    no_frame = compose(video_desk, operation="split_track", annotation_ids=[t["id"]])
    assert "needs frame_index" in no_frame.json()["message"]


def test_merge_tracks_fills_the_gap_as_outside(video_desk):
    late, early = make(
        video_desk,
        track(keyframe(20, x=0.5), keyframe(30, x=0.6)),
        track(keyframe(0, x=0.1), keyframe(5, x=0.2)),
    )
    body = compose(video_desk, operation="merge_tracks", annotation_ids=[late["id"], early["id"]]).json()
    (merged,) = body["updated_annotations"]
    assert merged["id"] == early["id"] and body["deleted_annotation_ids"] == [late["id"]]
    assert body["created_annotations"] == []
    frames = [f["frame_index"] for f in track_frames(merged["geometry"]["keyframes"])]
    assert frames == [*range(0, 6), *range(20, 31)]
    assert {"frame_index": 6, "source": "manual", "absent": True, "occluded": False} in merged["geometry"]["keyframes"]


def test_merge_refusals(video_desk):
    a, b, c = make(
        video_desk,
        track(keyframe(0), keyframe(10)),
        track(keyframe(10), keyframe(12)),
        track(keyframe(20), class_name="car"),
    )
    overlap = compose(video_desk, operation="merge_tracks", annotation_ids=[a["id"], b["id"]])
    assert overlap.status_code == 400 and "visible frames overlap" in overlap.json()["message"]
    assert "0-10" in overlap.json()["message"] and "10-12" in overlap.json()["message"]
    cls = compose(video_desk, operation="merge_tracks", annotation_ids=[a["id"], c["id"]])
    assert "different classes" in cls.json()["message"]
    one = compose(video_desk, operation="merge_tracks", annotation_ids=[a["id"]])
    assert "exactly two tracks" in one.json()["message"]
    stale = compose(video_desk, operation="merge_tracks", annotation_ids=[a["id"], b["id"]], revision=0)
    assert stale.status_code == 409


def test_compositions_need_the_lock_and_the_permission(video_desk, world_a):
    a, b = make(video_desk, video_bbox(0), video_bbox(1))
    body = {"operation": "aggregate_bboxes", "annotation_ids": [a["id"], b["id"]]}
    assert compose(video_desk, role=Role.MANAGER, **body).status_code == 423
    assert compose(video_desk, role=Role.REVIEWER, **body).status_code == 403


def test_relations_to_a_deleted_track_go_with_it(video_desk):
    t, b = make(video_desk, track(keyframe(0)), video_bbox(3))
    (relation,) = make(video_desk, {"type": "relation", "geometry": {"from": t["id"], "to": b["id"]}})
    body = convert(video_desk, t["id"], operation="split", scope="track").json()
    assert body["deleted_source"] is True
    assert not Annotation.objects.filter(pk=relation["id"]).exists()
    latest = AnnotationRevision.objects.filter(task=video_desk.task).latest("number")
    assert relation["id"] in latest.summary["removed"]
