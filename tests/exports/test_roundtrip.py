"""Export → import → the same annotations.

Vector formats (COCO, labelme, YOLO boxes, VOC boxes) come back with the same geometry
(coordinates within 0.01 px: files round to 2 decimals, YOLO to 6 decimals of the frame).
Rasterised formats (YOLO segmentation, VOC instance masks, GT masks) are compared by what
they paint: the GT_label of the re-imported project equals the original's pixel for pixel
(tolerance stated per test: 0 pixels unless said otherwise).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from annotations import geometry
from annotations.models import Annotation, Source
from tests.exports.conftest import LABELS, add_image_task
from tests.exports.helpers import export_to, import_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def twin(studio, make_project):
    """A second project with the same labels and images of the same names, no annotations."""
    project = make_project(studio.world, kind="image", labels=LABELS, name="Twin")
    for task in studio.tasks:
        add_image_task(studio.world, project, task.name)
    return project


def shapes_by_image(project, types=None) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    rows = Annotation.objects.filter(project=project).exclude(source=Source.AI).select_related("label", "task")
    for a in rows.order_by("task__name", "id"):
        if types and a.type not in types:
            continue
        out.setdefault(a.task.name, []).append((a.type, a.label.name, a))
    return out


def gt_labels(project, folder) -> dict[str, np.ndarray]:
    export_to(project, "segmentation_results", folder, outputs=["gt_label"], include_images=False)
    return {
        p.name.split("_0h")[0]: cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in (folder / "GT_label").glob("*.png")
    }


def _mask(annotation, height=48, width=64):
    g = annotation.geometry
    if "rle" in g:
        return geometry.rle_decode(g["rle"])
    if annotation.type == "bbox":
        return geometry.polygons_to_mask(
            geometry.bbox_to_polygon(g["x"], g["y"], g["width"], g["height"]), height, width
        )
    return geometry.polygons_to_mask(g["polygons"], height, width)


def _same_areas(before, after, *, tolerance_pixels: int = 0):
    for image, shapes in before.items():
        areas = [(t, name, a) for t, name, a in shapes if t in ("bbox", "polygon", "mask")]
        got = [(t, name, a) for t, name, a in after.get(image, []) if t in ("bbox", "polygon", "mask")]
        assert sorted(n for _, n, _ in areas) == sorted(n for _, n, _ in got), image
        for _, name, original in areas:
            candidates = [a for _, n, a in got if n == name]
            diffs = [int((_mask(original) != _mask(c)).sum()) for c in candidates]
            assert min(diffs) <= tolerance_pixels, (image, name, diffs)


def test_coco_round_trip_keeps_every_shape_and_marks_it_imported(studio, twin, tmp_path):
    export_to(studio.project, "coco", tmp_path / "coco")
    report = import_from(twin, "coco", tmp_path / "coco")
    assert report.totals["refused"] == 0 and report.totals["files"] == 3
    before, after = shapes_by_image(studio.project), shapes_by_image(twin)
    _same_areas(before, after)
    assert {a.source for _, _, a in (a for shapes in after.values() for a in shapes)} == {Source.IMPORTED}
    pose = next(a for t, _, a in after["two.png"] if t == "keypoints")
    assert [(p["name"], p["x"], p["y"], p["visibility"]) for p in pose.geometry["points"]] == [
        ("head", 10, 10, 2),
        ("hand", 14, 20, 1),
    ]
    # Boxes come back as boxes with the same numbers.
    car = next(a for t, n, a in after["one.png"] if t == "bbox" and n == "car")
    assert car.geometry == {"x": 2, "y": 3, "width": 20, "height": 10}


def test_labelme_round_trip(studio, twin, tmp_path):
    export_to(studio.project, "labelme", tmp_path / "lm")
    report = import_from(twin, "labelme", tmp_path / "lm")
    assert report.totals["refused"] == 0
    before, after = shapes_by_image(studio.project), shapes_by_image(twin)
    _same_areas(before, after)
    line = next(a for t, _, a in after["two.png"] if t == "polyline")
    assert line.geometry["points"] == [[1, 1], [20, 20]]
    assert any(t == "keypoints" for t, _, _ in after["two.png"])


def test_yolo_detection_round_trip_boxes_within_a_hundredth_of_a_pixel(studio, twin, tmp_path):
    export_to(studio.project, "yolo", tmp_path / "yolo")
    report = import_from(twin, "yolo", tmp_path / "yolo")
    assert report.totals["refused"] == 0
    after = shapes_by_image(twin)
    car = next(a for t, n, a in after["one.png"] if n == "car")
    for key, value in {"x": 2, "y": 3, "width": 20, "height": 10}.items():
        assert car.geometry[key] == pytest.approx(value, abs=0.01)
    assert [n for _, n, _ in after["three.png"]] == ["person", "unclassified"]


def test_yolo_segmentation_round_trip_paints_the_same_pixels(studio, twin, tmp_path):
    export_to(studio.project, "yolo_seg", tmp_path / "seg")
    report = import_from(twin, "yolo", tmp_path / "seg")
    assert report.totals["refused"] == 0
    before, after = gt_labels(studio.project, tmp_path / "a"), gt_labels(twin, tmp_path / "b")
    for name in ("one", "two", "three"):
        assert np.array_equal(before[name], after[name]), name
    dog = next(a for t, n, a in shapes_by_image(twin)["one.png"] if n == "dog")
    assert dog.geometry["polygons"][0]["holes"], "the keyhole line came back as a polygon with a hole"


def test_voc_boxes_and_masks_round_trip(studio, twin, tmp_path, make_project):
    export_to(studio.project, "voc", tmp_path / "voc")
    report = import_from(twin, "voc", tmp_path / "voc")
    assert report.totals["refused"] == 0
    car = next(a for t, n, a in shapes_by_image(twin)["one.png"] if n == "car")
    assert car.geometry == {"x": 2, "y": 3, "width": 20, "height": 10}
    masks = make_project(studio.world, kind="image", labels=LABELS, name="Masks")
    for task in studio.tasks:
        add_image_task(studio.world, masks, task.name)
    report = import_from(masks, "voc", tmp_path / "voc", shapes="masks")
    assert report.totals["refused"] == 0
    before, after = gt_labels(studio.project, tmp_path / "a"), gt_labels(masks, tmp_path / "b")
    for name in ("one", "two", "three"):
        assert np.array_equal(before[name], after[name]), name


def test_gt_label_round_trip_is_pixel_exact(studio, twin, tmp_path):
    export_to(studio.project, "segmentation_results", tmp_path / "seg", outputs=["gt_label"], include_images=False)
    report = import_from(twin, "gt_masks", tmp_path / "seg" / "GT_label")
    assert report.totals["files"] == 3 and report.totals["refused"] == 0
    before, after = gt_labels(studio.project, tmp_path / "a"), gt_labels(twin, tmp_path / "b")
    for name in ("one", "two", "three"):
        assert np.array_equal(before[name], after[name]), name
    assert {a.type for _, _, a in (a for shapes in shapes_by_image(twin).values() for a in shapes)} == {"mask"}
