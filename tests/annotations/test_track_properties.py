"""Property-based tests (hypothesis) of track interpolation, conversions and compositions:
pure track edits first, then the same round trips through the services on a real task."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations import tracks
from annotations.geometry import track_frames
from annotations.models import Annotation
from annotations.services import compose_tracks, convert_to_bboxes, write_annotations

FRAMES = 60


@st.composite
def boxes(draw):
    w = draw(st.floats(0.01, 0.5))
    h = draw(st.floats(0.01, 0.5))
    x = draw(st.floats(0.0, 1.0 - w))
    y = draw(st.floats(0.0, 1.0 - h))
    return {"x": x, "y": y, "w": w, "h": h}


@st.composite
def keyframe_lists(draw, lo: int = 0, hi: int = FRAMES - 1):
    indexes = sorted(draw(st.sets(st.integers(lo, hi), min_size=1, max_size=8)))
    out = []
    for index in indexes:
        absent = draw(st.booleans()) if out else False  # the first keyframe is present
        item = {"frame_index": index, "source": "manual", "absent": absent, "occluded": draw(st.booleans())}
        if not absent:
            item["bbox"] = draw(boxes())
        out.append(item)
    return out


def shown(keyframes):
    return {f["frame_index"]: (f["bbox"], f["occluded"]) for f in track_frames(keyframes)}


def same_frames(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    for index in a:
        assert a[index][1] == b[index][1], f"occluded differs at frame {index}"
        for key in tracks.BOX_KEYS:
            assert a[index][0][key] == pytest.approx(b[index][0][key], abs=1e-9), f"frame {index}"


# --- pure edits ------------------------------------------------------------------------------------
@given(keyframe_lists())
def test_rebuilding_keyframes_from_the_frames_shows_the_same_frames(keyframes):
    rebuilt = tracks.keyframes_from_frames(tracks.visible_frames(keyframes), keyframes)
    same_frames(shown(rebuilt), shown(keyframes))


@given(keyframe_lists(), st.sets(st.integers(0, FRAMES - 1), max_size=10))
def test_removing_frames_changes_no_other_frame(keyframes, removed):
    before = shown(keyframes)
    after = shown(tracks.remove_frames(keyframes, removed))
    same_frames(after, {i: v for i, v in before.items() if i not in removed})


@given(keyframe_lists(), st.integers(0, FRAMES - 1))
def test_split_partitions_the_frames_and_merge_restores_them(keyframes, at):
    before = shown(keyframes)
    first, second = tracks.split_track(keyframes, at)
    same_frames(shown(first), {i: v for i, v in before.items() if i <= at})
    same_frames(shown(second), {i: v for i, v in before.items() if i > at})
    if first and second:
        same_frames(shown(tracks.merge_tracks(second, first)), before)


@given(keyframe_lists(0, 29), keyframe_lists(31, FRAMES - 1))
def test_merge_then_split_round_trips(a, b):
    merged = tracks.merge_tracks(a, b)
    same_frames(shown(merged), {**shown(a), **shown(b)})
    last_of_a = tracks.visible_range(a)[1]
    first, second = tracks.split_track(merged, last_of_a)
    same_frames(shown(first), shown(a))
    same_frames(shown(second), shown(b))


@given(keyframe_lists(), keyframe_lists())
def test_merge_refuses_overlapping_ranges(a, b):
    ra, rb = tracks.visible_range(a), tracks.visible_range(b)
    if ra[0] <= rb[1] and rb[0] <= ra[1]:
        with pytest.raises(ValueError, match="overlap"):
            tracks.merge_tracks(a, b)


@given(keyframe_lists())
def test_interpolation_is_linear_between_present_keyframes(keyframes):
    frames = tracks.visible_frames(keyframes)
    present = [k for k in keyframes if not k["absent"]]
    for k in present:
        assert frames[k["frame_index"]]["bbox"] == k["bbox"] and frames[k["frame_index"]]["keyframe"]
    for left, right in itertools.pairwise(keyframes):
        inside = range(left["frame_index"] + 1, right["frame_index"])
        if left["absent"] or right["absent"]:
            assert not any(i in frames for i in inside)
        else:
            for i in inside:
                t = (i - left["frame_index"]) / (right["frame_index"] - left["frame_index"])
                assert frames[i]["bbox"]["x"] == pytest.approx(
                    left["bbox"]["x"] + (right["bbox"]["x"] - left["bbox"]["x"]) * t
                )


# --- through the services --------------------------------------------------------------------------
SLOW = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _track(video_desk, keyframes):
    """A fresh annotation set on the claimed task holding this one track."""
    shape = {"type": "video_track", "class_name": "person", "geometry": {"type": "video_track", "keyframes": keyframes}}
    return write_annotations(video_desk.task, [shape], source="manual", replace=True).annotations[0]


@pytest.mark.django_db
@SLOW
@given(keyframes=keyframe_lists())
def test_copy_never_changes_the_source_and_all_frames_equals_the_interpolation(video_desk, keyframes):
    source = _track(video_desk, keyframes)
    stored = Annotation.objects.get(pk=source.pk).geometry
    result = convert_to_bboxes(
        video_desk.task, source.pk, actor=video_desk.annotator, operation="copy", scope="track", frame_mode="all_frames"
    )
    assert Annotation.objects.get(pk=source.pk).geometry == stored
    assert result.removed_frame_indexes == [] and not result.deleted_source
    created = {
        a.frame_index: ({k: a.geometry[k] for k in tracks.BOX_KEYS}, a.geometry.get("occluded", False))
        for a in result.created_annotations
    }
    assert created == shown(stored["keyframes"])


@pytest.mark.django_db
@SLOW
@given(
    frames=st.dictionaries(st.integers(0, FRAMES - 1), boxes(), min_size=1, max_size=8),
)
def test_aggregate_then_split_returns_the_same_boxes(video_desk, frames):
    shapes = [
        {"type": "video_bbox", "class_name": "person", "geometry": {"type": "video_bbox", "frame_index": i, **b}}
        for i, b in frames.items()
    ]
    written = write_annotations(video_desk.task, shapes, source="manual", replace=True).annotations
    actor = video_desk.annotator
    composed = compose_tracks(
        video_desk.task,
        actor=actor,
        operation="aggregate_bboxes",
        annotation_ids=[a.pk for a in written],
        delete_sources=True,
    )
    (track_annotation,) = composed.created_annotations
    split = convert_to_bboxes(
        video_desk.task, track_annotation.pk, actor=actor, operation="split", scope="track", frame_mode="keyframes"
    )
    assert split.deleted_source
    back = {a.frame_index: {k: a.geometry[k] for k in tracks.BOX_KEYS} for a in split.created_annotations}
    assert back == frames
    assert set(Annotation.objects.filter(task=video_desk.task).values_list("type", flat=True)) == {"video_bbox"}


@pytest.mark.django_db
@SLOW
@given(a=keyframe_lists(0, 29), b=keyframe_lists(31, FRAMES - 1))
def test_merge_then_split_round_trips_through_the_services(video_desk, a, b):
    shape = {"type": "video_track", "class_name": "person"}
    first, second = write_annotations(
        video_desk.task,
        [{**shape, "geometry": {"type": "video_track", "keyframes": kf}} for kf in (a, b)],
        source="manual",
        replace=True,
    ).annotations
    actor = video_desk.annotator
    merged = compose_tracks(
        video_desk.task, actor=actor, operation="merge_tracks", annotation_ids=[second.pk, first.pk]
    ).updated_annotations[0]
    split = compose_tracks(
        video_desk.task,
        actor=actor,
        operation="split_track",
        annotation_ids=[merged.pk],
        frame_index=tracks.visible_range(a)[1],
    )
    same_frames(shown(split.updated_annotations[0].geometry["keyframes"]), shown(a))
    same_frames(shown(split.created_annotations[0].geometry["keyframes"]), shown(b))
