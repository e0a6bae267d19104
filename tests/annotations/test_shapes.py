"""Every shape type: what is accepted, how it is normalised, and each refusal's message."""

from __future__ import annotations

import numpy as np
import pytest

from annotations import geometry
from annotations.models import Annotation
from organizations.roles import Role
from tests.annotations.conftest import box, keyframe, track, video_bbox

pytestmark = pytest.mark.django_db


def saved(desk, shape) -> dict:
    response = desk.draft([shape])
    assert response.status_code == 200, response.json()
    return response.json()["annotations"][0]


def refused(desk, shape, index: int = 0) -> dict[str, list[str]]:
    response = desk.draft([shape])
    assert response.status_code == 400, response.json()
    return {k.removeprefix(f"shapes.{index}."): v for k, v in response.json()["errors"].items()}


# --- types and vocabulary --------------------------------------------------------------------
@pytest.mark.parametrize("name", ["rectanglelabels", "bbox", "BBOX", "rectangle"])
def test_box_vocabulary(desk, name):
    assert saved(desk, {**box(), "type": name})["type"] == "bbox"


def test_unknown_type_is_refused_with_our_names(desk):
    errors = refused(desk, {**box(), "type": "blob"})
    assert "unknown shape type 'blob'" in errors["type"][0] and "video_track" in errors["type"][0]


def test_type_and_annotation_type_must_agree(desk):
    errors = refused(desk, {**box(), "annotation_type": "polygon"})
    assert "disagree" in errors["type"][0]


def test_a_project_kind_refuses_types_it_does_not_take(desk):
    errors = refused(desk, {"type": "text_span", "class_name": "car", "geometry": {"start": 0, "end": 1}})
    assert "does not take text_span" in errors["type"][0]


def test_class_names_match_case_insensitively_but_not_aliases(desk):
    assert saved(desk, box(class_name="CAR"))["class_name"] == "car"
    errors = refused(desk, box(class_name="automobile"))
    assert "unknown class 'automobile'" in errors["class_name"][0] and "car, dog, person" in errors["class_name"][0]


def test_attributes_follow_the_label_schema(desk):
    assert saved(desk, {**box(class_name="dog"), "attributes": {"color": "black", "age": 3}})["attributes"] == {
        "color": "black",
        "age": 3,
    }
    errors = refused(desk, {**box(class_name="dog"), "attributes": {"age": 99, "size": 1}})
    assert "above the maximum 30" in errors["attributes.age"][0]
    assert "unknown attribute" in errors["attributes.size"][0]
    errors = refused(desk, {**box(class_name="dog"), "attributes": [1]})
    assert "must be an object" in errors["attributes"][0]


# --- boxes -----------------------------------------------------------------------------------
def test_box_accepts_w_h_and_clips_to_the_frame(desk):
    shape = saved(desk, {"type": "bbox", "class_name": "car", "geometry": {"x": -10, "y": 400, "w": 50, "h": 200}})
    assert shape["geometry"] == {"x": 0.0, "y": 400.0, "width": 40.0, "height": 80.0}


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        ({"x": 1, "y": 1, "width": 0, "height": 5}, "degenerate box"),
        ({"x": 1, "y": 1, "width": 5, "height": -5}, "degenerate box"),
        ({"x": 700, "y": 1, "width": 5, "height": 5}, "entirely outside the 640x480 frame"),
        ({"x": "1", "y": 1, "width": 5, "height": 5}, "x must be a finite number"),
        ({"x": 1, "y": 1, "width": 5}, "height must be a finite number"),
        ({"x": 1, "y": 1, "width": 5, "height": 5, "z": 1}, "unknown keys: z"),
    ],
)
def test_bad_boxes(desk, geometry, message):
    errors = refused(desk, {"type": "bbox", "class_name": "car", "geometry": geometry})
    assert message in " ".join(m for msgs in errors.values() for m in msgs)


def test_rotated_box_in_centre_form_and_label_studio_form(desk):
    shape = saved(
        desk,
        {
            "type": "rotated_bbox",
            "class_name": "car",
            "geometry": {"cx": 100, "cy": 100, "width": 40, "height": 20, "angle": 370},
        },
    )
    assert shape["geometry"] == {"cx": 100.0, "cy": 100.0, "width": 40.0, "height": 20.0, "angle": 10.0}
    corner = saved(
        desk,
        {
            "type": "rotatedrectangle",
            "class_name": "car",
            "geometry": {"x": 100, "y": 100, "width": 40, "height": 20, "rotation": 90},
        },
    )["geometry"]
    # rotated 90° clockwise about the top-left corner: the centre moves left of it (y down)
    assert corner["cx"] == pytest.approx(90.0) and corner["cy"] == pytest.approx(120.0) and corner["angle"] == 90.0
    errors = refused(
        desk, {"type": "rotated_bbox", "class_name": "car", "geometry": {"cx": 900, "cy": 10, "width": 4, "height": 4}}
    )
    assert "centre (900, 10) lies outside" in errors["geometry"][0]


# --- polygons and masks ------------------------------------------------------------------------
SQUARE = [[10, 10], [110, 10], [110, 110], [10, 110]]
HOLE = [[40, 40], [60, 40], [60, 60], [40, 60]]


def test_polygon_with_hole_and_multipolygon(desk):
    shape = saved(
        desk,
        {
            "type": "polygon",
            "class_name": "car",
            "geometry": {
                "polygons": [{"exterior": SQUARE, "holes": [HOLE]}, {"exterior": [[200, 200], [250, 200], [250, 250]]}]
            },
        },
    )
    polygons = shape["geometry"]["polygons"]
    assert len(polygons) == 2 and polygons[0]["holes"] == [[[float(x), float(y)] for x, y in HOLE]]
    assert geometry.polygons_area(polygons) == pytest.approx(100 * 100 - 20 * 20 + 1250)


def test_polygon_label_studio_points_form(desk):
    shape = saved(desk, {"type": "polygonlabels", "class_name": "car", "geometry": {"points": SQUARE}})
    assert shape["geometry"]["polygons"][0]["exterior"][0] == [10.0, 10.0]


def test_self_intersecting_polygon_is_repaired(desk):
    bowtie = [[0, 0], [100, 100], [100, 0], [0, 100]]
    shape = saved(desk, {"type": "polygon", "class_name": "car", "geometry": {"points": bowtie}})
    repaired = shape["geometry"]["polygons"]
    assert len(repaired) == 2
    assert geometry.to_shapely(repaired).is_valid
    assert geometry.polygons_area(repaired) == pytest.approx(5000)


def test_polygon_is_clipped_to_the_frame(desk):
    shape = saved(
        desk,
        {
            "type": "polygon",
            "class_name": "car",
            "geometry": {"points": [[600, 400], [700, 400], [700, 500], [600, 500]]},
        },
    )
    assert geometry.polygons_bbox(shape["geometry"]["polygons"]) == (600.0, 400.0, 40.0, 80.0)


@pytest.mark.parametrize(
    ("geometry_", "message"),
    [
        ({"points": [[0, 0], [10, 10], [20, 20]]}, "degenerate polygon"),
        ({"points": [[0, 0], [10, 10]]}, "needs at least 3 points"),
        ({"points": [[700, 500], [800, 500], [800, 600]]}, "entirely outside"),
        ({"points": [[0, 0], [10, "a"], [20, 0]]}, "point 1 must be [x, y]"),
        ({"polygons": []}, "non-empty list"),
        ({"polygons": [{"outer": SQUARE}]}, 'each polygon is {"exterior"'),
        ({}, 'a polygon needs "polygons"'),
    ],
)
def test_bad_polygons(desk, geometry_, message):
    errors = refused(desk, {"type": "polygon", "class_name": "car", "geometry": geometry_})
    assert message in " ".join(m for msgs in errors.values() for m in msgs)


def test_mask_as_rle_is_stored_compressed(desk):
    mask = np.zeros((480, 640), dtype=np.uint8)
    mask[100:150, 200:260] = 1
    rle = geometry.rle_encode(mask)
    counts = geometry.rle_string_to_counts(rle["counts"])
    shape = saved(
        desk, {"type": "mask", "class_name": "car", "geometry": {"rle": {"size": [480, 640], "counts": counts}}}
    )
    assert shape["geometry"] == {"rle": rle}
    assert (geometry.rle_decode(shape["geometry"]["rle"]) == mask).all()
    coco_style = saved(desk, {"type": "segmentation", "class_name": "car", "geometry": rle})
    assert coco_style["geometry"] == {"rle": rle}


def test_mask_as_polygons(desk):
    shape = saved(desk, {"type": "mask", "class_name": "car", "geometry": {"polygons": [{"exterior": SQUARE}]}})
    assert shape["geometry"]["polygons"][0]["holes"] == []


@pytest.mark.parametrize(
    ("rle", "message"),
    [
        ({"size": [480, 640], "counts": [307200]}, "no pixel is set"),
        ({"size": [48, 64], "counts": [3072]}, "not the frame's [height, width] = [480, 640]"),
        ({"size": [480, 640], "counts": [10, 20]}, "counts cover 30 pixels"),
        ({"size": [480, 640], "counts": "zz~~"}, "invalid character"),
        ({"size": [480, 640], "counts": "1"}, "counts cover"),
        ({"size": [480, 640]}, "an RLE is"),
    ],
)
def test_bad_masks_are_refused_before_decoding(desk, rle, message):
    errors = refused(desk, {"type": "mask", "class_name": "car", "geometry": {"rle": rle}})
    assert message in errors["geometry.rle"][0]


# --- lines, points, keypoints ------------------------------------------------------------------
def test_polyline_and_points(desk):
    line = saved(desk, {"type": "polyline", "class_name": "car", "geometry": {"points": [[0, 0], [640, 480]]}})
    assert line["geometry"] == {"points": [[0.0, 0.0], [640.0, 480.0]]}
    errors = refused(desk, {"type": "line", "class_name": "car", "geometry": {"points": [[5, 5], [5, 5]]}})
    assert "degenerate polyline" in errors["geometry"][0]
    errors = refused(desk, {"type": "polyline", "class_name": "car", "geometry": {"points": [[5, 5], [641, 5]]}})
    assert "point 1 (641, 5) lies outside the 640x480 frame" in errors["geometry.points"][0]
    pts = saved(desk, {"type": "point", "class_name": "car", "geometry": {"points": [[1, 2]]}})
    assert pts["type"] == "points"
    errors = refused(desk, {"type": "points", "class_name": "car", "geometry": {"points": [[-1, 2]]}})
    assert "lies outside" in errors["geometry.points"][0]


def test_keypoints_follow_the_label_schema(desk):
    shape = saved(
        desk,
        {
            "type": "keypoints",
            "class_name": "person",
            "geometry": {"points": [[10, 10, 2], {"name": "left_hand", "x": 5, "y": 5, "visibility": 1}, [0, 0, 0]]},
        },
    )
    assert shape["geometry"]["points"] == [
        {"name": "head", "x": 10.0, "y": 10.0, "visibility": 2},
        {"name": "left_hand", "x": 5.0, "y": 5.0, "visibility": 1},
        {"name": "right_hand", "x": 0.0, "y": 0.0, "visibility": 0},
    ]


@pytest.mark.parametrize(
    ("class_name", "points", "message"),
    [
        ("car", [[1, 1]], "defines no keypoints"),
        ("person", [[1, 1, 2]], "has 3 keypoints (head, left_hand, right_hand); got 1"),
        ("person", [[1, 1, 2], [1, 1, 3], [1, 1, 2]], "visibility must be 0"),
        ("person", [[1, 1, 0], [1, 1, 0], [1, 1, 0]], "no keypoint is labelled"),
        ("person", [[1, 1, 2], [1000, 1, 2], [1, 1, 2]], "'left_hand' (1000, 1) lies outside"),
        ("person", [{"name": "tail", "x": 1, "y": 1}, [1, 1], [1, 1]], "unknown keypoint 'tail'"),
    ],
)
def test_bad_keypoints(desk, class_name, points, message):
    errors = refused(desk, {"type": "pose", "class_name": class_name, "geometry": {"points": points}})
    assert message in " ".join(m for msgs in errors.values() for m in msgs)


# --- classification, text spans, relations -------------------------------------------------------
def test_classification_has_no_geometry(desk):
    shape = saved(desk, {"type": "choices", "class_name": "dog", "attributes": {"color": "brown"}})
    assert shape["type"] == "classification" and shape["geometry"] == {} and shape["frame_index"] is None
    errors = refused(desk, {"type": "classification", "class_name": "dog", "geometry": {"x": 1}})
    assert "has no geometry" in errors["geometry"][0]


def test_text_spans_in_a_text_project(world_a, desk_factory):
    desk = desk_factory(world_a, kind="text", frames=0, text="Alice met Bob in Paris.")
    shape = saved(desk, {"type": "labels", "class_name": "person", "geometry": {"start": 0, "end": 5}})
    assert shape["geometry"] == {"start": 0, "end": 5, "text": "Alice"} and shape["frame_index"] is None
    errors = refused(desk, {"type": "ner", "class_name": "person", "geometry": {"start": 5, "end": 99}})
    assert "0 <= start < end <= 23" in errors["geometry"][0]
    errors = refused(
        desk, {"type": "text_span", "class_name": "person", "geometry": {"start": 0, "end": 5, "text": "Bob"}}
    )
    assert "'Alice'" in errors["geometry.text"][0]
    errors = refused(
        desk, {"type": "text_span", "class_name": "person", "geometry": {"start": 0, "end": 5}, "frame_index": 0}
    )
    assert "leave frame_index out" in errors["frame_index"][0]


def test_relations_link_shapes_of_the_request_or_kept_annotations(world_a, desk_factory):
    desk = desk_factory(world_a, kind="text", frames=0, text="Alice met Bob.")
    alice = {"type": "text_span", "class_name": "person", "geometry": {"start": 0, "end": 5}}
    bob = {"type": "text_span", "class_name": "person", "geometry": {"start": 10, "end": 13}}
    relation = {"type": "relation", "geometry": {"from": {"index": 0}, "to": {"index": 1}}}
    response = desk.draft([alice, bob, relation])
    assert response.status_code == 200, response.json()
    a, b, r = response.json()["annotations"]
    assert r["geometry"] == {"from": a["id"], "to": b["id"], "direction": "right"}
    # the relation is kept; its ends may now be given by id
    again = desk.draft(
        [a, b, {**r, "geometry": {"from": b["id"], "to": {"id": a["id"]}, "direction": "bi"}}], revision=1
    )
    assert again.status_code == 200, again.json()
    assert Annotation.objects.get(pk=r["id"]).geometry == {"from": b["id"], "to": a["id"], "direction": "bi"}
    # an end that is not kept in this save is refused
    response = desk.draft([a, {**r, "geometry": {"from": a["id"], "to": b["id"]}}], revision=2)
    assert "annotations not sent are deleted" in response.json()["errors"]["shapes.1.geometry.to"][0]
    response = desk.draft([a, {"type": "relation", "geometry": {"from": {"index": 0}, "to": {"index": 0}}}], revision=2)
    assert "two different ends" in response.json()["errors"]["shapes.1.geometry"][0]
    response = desk.draft([a, {"type": "relation", "geometry": {"from": {"index": 0}, "to": {"index": 7}}}], revision=2)
    assert "no shape 7" in response.json()["errors"]["shapes.1.geometry.to"][0]


# --- frames ------------------------------------------------------------------------------------------
def test_frame_index_must_exist(video_desk):
    shape = saved(video_desk, {**box(), "frame_index": 99})
    assert shape["frame_index"] == 99
    errors = refused(video_desk, {**box(), "frame_index": 100})
    assert "frame 100 does not exist; this task has frames 0-99" in errors["frame_index"][0]


def test_frame_sizes_come_from_each_frame(world_a, desk_factory):
    desk = desk_factory(world_a, frames=1, width=100, height=50)
    errors = refused(desk, {"type": "points", "class_name": "car", "geometry": {"points": [[60, 60]]}})
    assert "outside the 100x50 frame" in errors["geometry.points"][0]


def test_without_frames_only_the_origin_bounds_apply(world_a, desk_factory):
    desk = desk_factory(world_a, frames=0)
    shape = saved(desk, box(x=5000, y=5000, w=10, h=10))
    assert shape["geometry"]["x"] == 5000
    assert saved(desk, box(x=-5, w=10))["geometry"]["x"] == 0
    errors = refused(desk, {**box(), "frame_index": 1})
    assert "frame_index must be 0" in errors["frame_index"][0]


# --- video shapes -----------------------------------------------------------------------------------
def test_seed_video_bbox(video_desk):
    shape = saved(video_desk, video_bbox(12))
    assert shape["type"] == "video_bbox" and shape["frame_index"] == 12
    assert shape["geometry"] == {"type": "video_bbox", "frame_index": 12, "x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4}


def test_seed_video_track(video_desk):
    shape = saved(video_desk, track(keyframe(0), keyframe(10, absent=True), track_id="trk_1"))
    assert shape["geometry"] == {
        "type": "video_track",
        "track_id": "trk_1",
        "keyframes": [
            {
                "frame_index": 0,
                "bbox": {"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4},
                "source": "manual",
                "absent": False,
                "occluded": False,
            },
            {
                "frame_index": 10,
                "bbox": {"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4},
                "source": "manual",
                "absent": True,
                "occluded": False,
            },
        ],
    }
    assert shape["object_id"] == "trk_1" and shape["frame_index"] is None
    generated = saved(video_desk, track(keyframe(0)))
    assert (
        generated["geometry"]["track_id"].startswith("trk_")
        and generated["object_id"] == generated["geometry"]["track_id"]
    )


@pytest.mark.parametrize(
    ("keyframes", "path", "message"),
    [
        (
            [keyframe(5), keyframe(3)],
            "keyframes.1.frame_index",
            "keyframe 1 (frame 3): comes after keyframe 0 (frame 5)",
        ),
        ([keyframe(5), keyframe(5)], "keyframes.1.frame_index", "frame 5 is already keyframe 0"),
        (
            [keyframe(0), keyframe(100)],
            "keyframes.1.frame_index",
            "keyframe 1: frame 100 is past the end of the video (100 frames",
        ),
        ([keyframe(0), keyframe(3, x=0.9)], "keyframes.1.bbox", "keyframe 1 (frame 3): the box must lie inside 0-1"),
        ([keyframe(0, w=0)], "keyframes.0.bbox", "keyframe 0 (frame 0): degenerate box"),
        ([keyframe(0, source="robot")], "keyframes.0.source", "source must be one of"),
        ([keyframe(0, absent=True)], "keyframes", "needs at least one present keyframe"),
        ([{"frame_index": 0}], "keyframes.0.bbox", "a present keyframe needs a bbox"),
        ([], "keyframes", "non-empty list"),
    ],
)
def test_track_errors_name_the_keyframe(video_desk, keyframes, path, message):
    errors = refused(video_desk, track(*keyframes))
    assert message in errors[f"geometry.{path}"][0], errors


def test_absent_keyframe_may_leave_out_its_box(video_desk):
    shape = saved(video_desk, track(keyframe(0), {"frame_index": 4, "absent": True}))
    assert shape["geometry"]["keyframes"][1] == {
        "frame_index": 4,
        "source": "manual",
        "absent": True,
        "occluded": False,
    }


def test_video_bbox_bounds_and_frames(video_desk):
    errors = refused(video_desk, video_bbox(200))
    assert "past the end of the video" in errors["geometry.frame_index"][0]
    errors = refused(video_desk, video_bbox(1, x=-0.5))
    assert "inside 0-1" in errors["geometry"][0]
    errors = refused(video_desk, {**video_bbox(1), "frame_index": 2})
    assert "disagrees with geometry.frame_index" in errors["frame_index"][0]


def test_track_ids_are_unique_in_a_task(video_desk):
    response = video_desk.draft([track(keyframe(0), track_id="a"), track(keyframe(1), track_id="a")])
    assert "already used by shape 0" in response.json()["errors"]["shapes.1.geometry.track_id"][0]


def test_per_frame_masks_keep_object_identity(video_desk):
    shapes = [
        {"type": "polygon", "class_name": "car", "frame_index": i, "object_id": "obj-1", "geometry": {"points": SQUARE}}
        for i in range(3)
    ]
    response = video_desk.draft(shapes)
    assert response.status_code == 200
    assert {a["object_id"] for a in response.json()["annotations"]} == {"obj-1"}
    errors = refused(video_desk, {**shapes[0], "object_id": "x" * 65})
    assert "at most 64" in errors["object_id"][0]


def test_reviewers_cannot_save(desk, world_a):
    response = world_a.client(Role.REVIEWER).put(f"{desk.url}/annotations/draft", {"shapes": []}, format="json")
    assert response.status_code == 403
    assert (
        "task.annotate" not in response.json()["message"]
        and "owner, admin, manager, annotator" in response.json()["message"]
    )
