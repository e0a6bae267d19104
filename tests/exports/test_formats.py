"""Every export format: its layout and content, checked against the shared rasteriser and,
for COCO, against pycocotools itself."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import yaml
from defusedxml import ElementTree as ET
from pycocotools.coco import COCO

from annotations import geometry
from tests.exports.conftest import SQUARE_WITH_HOLE
from tests.exports.helpers import export_to, files

pytestmark = pytest.mark.django_db


TWO_CAR_PARTS = [
    {"exterior": [[30, 10], [50, 10], [50, 30], [30, 30]], "holes": []},
    {"exterior": [[5, 30], [13, 30], [13, 38], [5, 38]], "holes": []},
]


@pytest.fixture
def out(tmp_path):
    return tmp_path / "out"  # beside the test's media folder, not around it


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.logical_and(a, b).sum()) / float(np.logical_or(a, b).sum())


def test_coco_opens_in_pycocotools_and_masks_match_the_shared_rasteriser(studio, out):
    export_to(studio.project, "coco", out)
    coco = COCO(str(out / "annotations/instances_default.json"))
    categories = {c["name"]: c for c in coco.loadCats(coco.getCatIds())}
    assert set(categories) == {"car", "person", "dog", "unclassified"}
    assert categories["car"]["color"] == "#ff0000" and categories["car"]["maskid"] == 1
    assert categories["person"]["keypoints"] == ["head", "hand"] and categories["person"]["skeleton"] == [[1, 2]]
    images = {img["file_name"]: img for img in coco.loadImgs(coco.getImgIds())}
    assert set(images) == {"one.png", "two.png", "three.png"}
    for name in images:
        assert (out / "images/default" / name).is_file()

    # The polygon with a hole is RLE (polygons cannot carry holes), iscrowd 0, exactly our mask.
    one = images["one.png"]
    dog = coco.loadAnns(coco.getAnnIds(imgIds=one["id"], catIds=categories["dog"]["id"]))[0]
    assert isinstance(dog["segmentation"], dict) and dog["iscrowd"] == 0
    ours = geometry.polygons_to_mask([SQUARE_WITH_HOLE], one["height"], one["width"])
    assert np.array_equal(coco.annToMask(dog), ours)
    assert dog["area"] == int(ours.sum())
    # Plain polygons stay polygons: pycocotools rasterises them a little differently (IoU).
    two = images["two.png"]
    car = coco.loadAnns(coco.getAnnIds(imgIds=two["id"], catIds=categories["car"]["id"]))[0]
    assert isinstance(car["segmentation"], list) and len(car["segmentation"]) == 2
    parts = [
        {"exterior": [[30, 10], [50, 10], [50, 30], [30, 30]], "holes": []},
        {"exterior": [[5, 30], [13, 30], [13, 38], [5, 38]], "holes": []},
    ]
    assert _iou(coco.annToMask(car), geometry.polygons_to_mask(parts, two["height"], two["width"])) > 0.85
    assert car["area"] == pytest.approx(400 + 64)
    assert car["bbox"] == [5, 10, 45, 28]
    # Boxes have an empty segmentation; keypoints carry num_keypoints.
    box = coco.loadAnns(coco.getAnnIds(imgIds=one["id"], catIds=categories["car"]["id"]))[0]
    assert box["segmentation"] == [] and box["bbox"] == [2, 3, 20, 10] and box["area"] == 200
    pose = coco.loadAnns(coco.getAnnIds(imgIds=two["id"], catIds=categories["person"]["id"]))[0]
    assert pose["keypoints"] == [10, 10, 2, 14, 20, 1] and pose["num_keypoints"] == 2


def test_coco_rle_option_makes_every_mask_exact(studio, out):
    export_to(studio.project, "coco", out, segmentation="rle")
    coco = COCO(str(out / "annotations/instances_default.json"))
    two = next(i for i in coco.loadImgs(coco.getImgIds()) if i["file_name"] == "two.png")
    car = coco.loadAnns(coco.getAnnIds(imgIds=two["id"], catIds=[1]))[0]
    parts = [
        {"exterior": [[30, 10], [50, 10], [50, 30], [30, 30]], "holes": []},
        {"exterior": [[5, 30], [13, 30], [13, 38], [5, 38]], "holes": []},
    ]
    assert np.array_equal(coco.annToMask(car), geometry.polygons_to_mask(parts, 48, 64))


def test_yolo_detection_lines_data_yaml_and_class_file(studio, out):
    ctx = export_to(studio.project, "yolo", out)
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["names"] == {0: "car", 1: "person", 2: "dog", 3: "unclassified"} and data["nc"] == 4
    assert data["train"] == "images/train" and data["val"] == "images/train"
    assert (out / "classes.txt").read_text().split() == ["car", "person", "dog", "unclassified"]
    lines = (out / "labels/train/one.txt").read_text().split("\n")
    assert lines[0] == f"0 {12 / 64:.6f} {8 / 48:.6f} {20 / 64:.6f} {10 / 48:.6f}"
    assert all(len(line.split()) == 5 for line in lines if line)
    assert "e" not in (out / "labels/train/two.txt").read_text()  # fixed point for Datumaro
    assert ctx.skipped == {"keypoints has no YOLO detection form": 1, "polyline has no YOLO detection form": 1}


def test_yolo_segmentation_keeps_holes_with_a_keyhole_cut(studio, out):
    export_to(studio.project, "yolo_seg", out)
    line = next(ln for ln in (out / "labels/train/one.txt").read_text().splitlines() if ln.startswith("2 "))
    values = [float(v) for v in line.split()[1:]]
    ring = [[values[i] * 64, values[i + 1] * 48] for i in range(0, len(values), 2)]
    drawn = geometry.polygons_to_mask([{"exterior": ring, "holes": []}], 48, 64)
    assert np.array_equal(drawn, geometry.polygons_to_mask([SQUARE_WITH_HOLE], 48, 64))


def test_voc_has_the_full_structure_and_masks_in_z_order(studio, out):
    export_to(studio.project, "voc", out)
    listed = files(out)
    for name in ("labelmap.txt", "ImageSets/Main/default.txt", "ImageSets/Segmentation/default.txt"):
        assert name in listed
    for stem in ("one", "two", "three"):
        for folder, ext in (
            ("Annotations", "xml"),
            ("JPEGImages", "png"),
            ("SegmentationClass", "png"),
            ("SegmentationObject", "png"),
        ):
            assert f"{folder}/{stem}.{ext}" in listed
    labelmap = (out / "labelmap.txt").read_text().splitlines()
    assert labelmap[1] == "background:0,0,0::" and "car:255,0,0::" in labelmap
    root = ET.parse(out / "Annotations/one.xml").getroot()
    assert root.findtext("size/width") == "64" and root.findtext("segmented") == "1"
    car = next(o for o in root.findall("object") if o.findtext("name") == "car")
    assert [car.findtext(f"bndbox/{k}") for k in ("xmin", "ymin", "xmax", "ymax")] == ["2.00", "3.00", "22.00", "13.00"]
    classes = cv2.imread(str(out / "SegmentationClass/one.png"))[..., ::-1]
    hole_centre, ring_pixel = classes[20, 20], classes[6, 6]
    assert tuple(hole_centre) == (0, 0, 0) and tuple(ring_pixel) == (0, 0, 255)  # dog (blue) above car
    instances = cv2.imread(str(out / "SegmentationObject/one.png"))[..., ::-1]
    assert tuple(instances[6, 6]) != (0, 0, 0) and tuple(instances[20, 20]) == (0, 0, 0)


def test_labelme_json_beside_images_with_masks_for_holes(studio, out):
    export_to(studio.project, "labelme", out)
    one = json.loads((out / "one.json").read_text())
    assert (
        one["imagePath"] == "one.png"
        and one["imageData"] is None
        and (one["imageWidth"], one["imageHeight"]) == (64, 48)
    )
    kinds = {s["label"]: s["shape_type"] for s in one["shapes"]}
    assert kinds == {"car": "rectangle", "dog": "mask"}
    two = json.loads((out / "two.json").read_text())
    car_parts = [s for s in two["shapes"] if s["label"] == "car" and s["shape_type"] == "polygon"]
    assert len(car_parts) == 2 and car_parts[0]["group_id"] == car_parts[1]["group_id"] is not None
    points = [s for s in two["shapes"] if s["shape_type"] == "point"]
    assert [p["description"] for p in points] == ["head", "hand"]
    assert any(s["shape_type"] == "linestrip" for s in two["shapes"])


def test_geojson_keeps_holes_as_interior_rings(studio, out):
    export_to(studio.project, "geojson", out)
    collection = json.loads((out / "one.geojson").read_text())
    assert collection["type"] == "FeatureCollection"
    dog = next(f for f in collection["features"] if f["properties"]["class"] == "dog")
    assert dog["geometry"]["type"] == "Polygon" and len(dog["geometry"]["coordinates"]) == 2
    exterior, hole = dog["geometry"]["coordinates"]
    assert exterior[0] == exterior[-1] and hole[0] == hole[-1]
    assert dog["properties"]["maskid"] == 3 and dog["properties"]["color"] == "#0000ff"
    flipped = out / "up"
    export_to(studio.project, "geojson", flipped, y_axis="up")
    car = next(
        f for f in json.loads((flipped / "one.geojson").read_text())["features"] if f["properties"]["class"] == "car"
    )
    ys = sorted({y for _, y in car["geometry"]["coordinates"][0]})
    assert ys == [48 - 13, 48 - 3]


def test_mot_writes_every_visible_track_frame_with_interpolation_and_visibility(clip, out):
    export_to(clip.project, "mot", out)
    rows = [line.split(",") for line in (out / "gt/gt.txt").read_text().splitlines()]
    track = [r for r in rows if r[7] == "2"]  # person
    assert [int(r[0]) for r in track] == [1, 2, 3, 4, 5]  # frame 6 is absent
    assert float(track[2][2]) == pytest.approx(16.0)  # interpolated halfway: x = 0.25 * 64
    assert track[4][8] == "0" and track[0][8] == "1"  # occluded keyframe: visibility 0
    assert len({r[1] for r in track}) == 1
    car = [r for r in rows if r[7] == "1"]
    assert [int(r[0]) for r in car] == [3] and car[0][2:6] == ["8.00", "8.00", "16.00", "16.00"]
    assert (out / "gt/labels.txt").read_text().split() == ["car", "person", "dog", "unclassified"]
    assert len([f for f in files(out) if f.startswith("img1/")]) == 6
    assert "seqLength=6" in (out / "seqinfo.ini").read_text()


def test_images_of_a_video_are_the_real_decoded_frames(clip, out):
    export_to(clip.project, "images", out)
    for index in range(6):
        image = cv2.imread(str(out / f"images/default/clip_frame{index + 1:06d}.jpg"))
        assert abs(float(image.mean()) - 20 * index) < 4, index


def test_segmentation_results_package(studio, out):
    ctx = export_to(studio.project, "segmentation_results", out, mix_opacity=0.5, mix_format="png")
    stem = "one_0h00m00s000ms_frame000001"
    listed = files(out)
    assert f"original_frames/{stem}.png" in listed
    assert f"separate_masks/{stem}_separate/{stem}_car_maskid1.png" in listed
    assert f"separate_masks/{stem}_separate/{stem}_dog_maskid3.png" in listed
    assert {"annotations_coco.json", "class_map.json"} <= set(listed)
    assert ctx.archive_name == "Street_scenes_seg_T_0h00m00s000ms-0h00m00s000ms_P_1-1.zip"
    gt = cv2.imread(str(out / f"GT_label/{stem}.png"), cv2.IMREAD_UNCHANGED)
    assert gt.dtype == np.uint8 and gt.ndim == 2
    expected = np.zeros((48, 64), np.uint8)
    geometry.draw_polygons(expected, geometry.bbox_to_polygon(2, 3, 20, 10), 1)
    geometry.draw_polygons(expected, [SQUARE_WITH_HOLE], 3)
    assert np.array_equal(gt, expected)
    # maskid 0 "unclassified" (top of the z-order) paints background, identical to 0.
    gt_three = cv2.imread(str(out / "GT_label/three_0h00m00s000ms_frame000001.png"), cv2.IMREAD_UNCHANGED)
    assert gt_three[25, 25] == 0 and gt_three[12, 12] == 2
    pro = cv2.imread(str(out / f"Pro_label/{stem}.png"))[..., ::-1]
    assert tuple(pro[8, 3]) == (255, 0, 0) and tuple(pro[6, 30]) == (0, 0, 255) and tuple(pro[20, 20]) == (0, 0, 0)
    original = cv2.imread(str(out / f"original_frames/{stem}.png"))
    mix = cv2.imread(str(out / f"Mix_label/{stem}.png"))
    assert np.array_equal(mix[20, 20], original[20, 20])  # unlabelled pixel untouched
    blended = 0.5 * original[6, 30].astype(float) + 0.5 * np.array([255, 0, 0])  # BGR of dog blue
    assert np.abs(mix[6, 30].astype(float) - blended).max() <= 1
    classes = json.loads((out / "class_map.json").read_text())["classes"]
    assert [(c["maskid"], c["name"], c["color"], c["z_order"]) for c in classes] == [
        (0, "unclassified", "#808080", 3),
        (1, "car", "#ff0000", 0),
        (2, "person", "#00ff00", 1),
        (3, "dog", "#0000ff", 2),
    ]


def test_segmentation_results_video_stems_carry_timestamps_and_seed_folder_names(clip, out):
    ctx = export_to(
        clip.project,
        "segmentation_results",
        out,
        scope={"frame_start": 2, "frame_end": 4},
        outputs=["gt_label", "class_map"],
        folder_names="original",
    )
    assert files(out) == [
        "GT_label图/clip_0h00m01s040ms_frame000002.png",
        "GT_label图/clip_0h00m01s080ms_frame000003.png",
        "GT_label图/clip_0h00m01s120ms_frame000004.png",
        "maskid_GT像素值_类别映射.json",
    ]
    assert ctx.archive_name == "Clip_project_seg_T_0h00m01s040ms-0h00m01s120ms_P_2-4.zip"


def test_unknown_format_option_is_refused_by_name(studio, out):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        export_to(studio.project, "coco", out, colour="red")
    assert "options.colour" in caught.value.message_dict


def test_every_dicom_slice_exports_as_the_decoded_windowed_picture(world_a, make_project, out):
    from media.selectors import frame_image
    from tests.exports.conftest import LABELS, add_dicom_task

    project = make_project(world_a, kind="dicom", labels=LABELS)
    task = add_dicom_task(world_a, project, slices=3)
    export_to(project, "images", out)
    for index in range(3):
        written = cv2.imread(str(out / f"images/default/ct_frame{index + 1:06d}.png"))[..., ::-1]
        assert np.array_equal(written, frame_image(task, index)), index  # lossless PNG of the real slice
    # A mask named by the exported frame stem lands on that slice.
    from annotations.models import Annotation
    from tests.exports.helpers import import_from

    mask = np.zeros((32, 32), np.uint8)
    mask[4:12, 4:12] = 2
    (out / "in").mkdir()
    cv2.imwrite(str(out / "in/ct_frame000002.png"), mask)
    report = import_from(project, "gt_masks", out / "in")
    assert report.files[0]["frame"] == 2
    assert Annotation.objects.get(task=task).frame_index == 1
