"""Imports check everything first and report per file and per shape; a refused file writes
nothing; every refusal says why."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.test import override_settings

from annotations.models import Annotation, Source
from exports.archives import ArchiveRefused, unpack_upload
from projects.models import LabelClass
from tests.exports.helpers import import_from

pytestmark = pytest.mark.django_db


def coco_file(folder: Path, annotations: list[dict], file_name: str = "one.png", raw: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    doc = {
        "images": [{"id": 1, "file_name": file_name, "width": 64, "height": 48}],
        "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "truck"}],
        "annotations": annotations,
    }
    path = folder / "instances.json"
    path.write_text(raw if raw is not None else json.dumps(doc))
    return path


def ann(segmentation, category_id=1, **extra):
    return {"id": extra.pop("id", 1), "image_id": 1, "category_id": category_id, "segmentation": segmentation, **extra}


def imported(task) -> list[Annotation]:
    return list(Annotation.objects.filter(task=task, source=Source.IMPORTED))


def test_a_nan_vertex_refuses_the_file_before_any_rasteriser_sees_it(studio, tmp_path):
    raw = json.dumps(
        {
            "images": [{"id": 1, "file_name": "one.png", "width": 64, "height": 48}],
            "categories": [{"id": 1, "name": "car"}],
            "annotations": [ann([[1, 1, float("nan"), 5, 9, 9]])],
        }
    )
    assert "NaN" in raw
    coco_file(tmp_path / "in", [], raw=raw)
    report = import_from(studio.project, "coco", tmp_path / "in")
    assert report.totals["refused"] == 1
    assert "not valid COCO JSON" in report.files[0]["reason"]
    assert imported(studio.tasks[0]) == []


def test_insane_and_degenerate_polygons_are_refused_with_their_reason(studio, tmp_path):
    coco_file(
        tmp_path / "in",
        [
            ann([[1, 1, 1e9, 5, 9, 9]], id=1),
            ann([[1, 1, 5, 5]], id=2),  # two points
            ann([[2, 2, 20, 2, 20, 20]], id=3),  # fine
        ],
    )
    report = import_from(studio.project, "coco", tmp_path / "in")
    entry = report.files[0]
    assert entry["status"] == "refused" and "nothing written" in entry["reason"]
    reasons = [s.get("reason", "") for s in entry["shapes"]]
    assert "far outside" in reasons[0]
    assert "at least 3" in reasons[1]
    assert entry["shapes"][2]["status"] == "accepted"
    assert imported(studio.tasks[0]) == []  # a refused file writes nothing
    # With skip_shape the good shape is written, the bad ones reported.
    report = import_from(studio.project, "coco", tmp_path / "in", on_invalid_shape="skip_shape")
    assert report.files[0]["status"] == "adapted"
    assert len(imported(studio.tasks[0])) == 1


def test_truncated_coco_is_refused_and_writes_nothing(studio, tmp_path):
    good = json.dumps(
        {
            "images": [{"id": 1, "file_name": "one.png"}],
            "annotations": [ann([[2, 2, 20, 2, 20, 20]])],
            "categories": [{"id": 1, "name": "car"}],
        }
    )
    coco_file(tmp_path / "in", [], raw=good[: len(good) // 2])
    report = import_from(studio.project, "coco", tmp_path / "in")
    assert report.totals == {**report.totals, "files": 1, "refused": 1}
    assert imported(studio.tasks[0]) == []


@override_settings(EXPORTS_IMPORT_MAX_FILE_BYTES=100)
def test_a_file_over_the_size_cap_is_refused_unread(studio, tmp_path):
    coco_file(tmp_path / "in", [ann([[2, 2, 20, 2, 20, 20]])])
    report = import_from(studio.project, "coco", tmp_path / "in")
    assert "the cap is" in report.files[0]["reason"]


def test_unknown_classes_are_refused_mapped_or_created_never_dropped(studio, tmp_path):
    coco_file(tmp_path / "in", [ann([[2, 2, 20, 2, 20, 20]], category_id=2)])
    report = import_from(studio.project, "coco", tmp_path / "in")
    assert "'truck' is not a class of this project" in report.files[0]["shapes"][0]["reason"]
    report = import_from(studio.project, "coco", tmp_path / "in", class_map={"truck": "car"})
    assert report.files[0]["status"] == "accepted"
    assert imported(studio.tasks[0])[0].label.name == "car"
    report = import_from(studio.project, "coco", tmp_path / "in", unknown_classes="create")
    assert report.created_classes == ["truck"]
    truck = LabelClass.objects.get(project=studio.project, name="truck")
    assert truck.maskid not in (0, 1, 2, 3)


def test_aliases_map_to_their_class(studio, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in/one.json").write_text(
        json.dumps(
            {
                "imagePath": "one.png",
                "imageWidth": 64,
                "imageHeight": 48,
                "shapes": [{"label": "pedestrian", "shape_type": "rectangle", "points": [[1, 1], [9, 9]]}],
            }
        )
    )
    report = import_from(studio.project, "labelme", tmp_path / "in")
    assert report.files[0]["status"] == "accepted"
    assert imported(studio.tasks[0])[0].label.name == "person"


def test_files_are_matched_by_name_and_unmatched_ones_refused(studio, clip, tmp_path):
    (tmp_path / "in").mkdir()
    line = "0 0.5 0.5 0.25 0.25\n"
    (tmp_path / "in/classes.txt").write_text("car\n")
    (tmp_path / "in/nowhere.txt").write_text(line)
    (tmp_path / "in/two.txt").write_text(line)
    report = import_from(studio.project, "yolo", tmp_path / "in")
    by_file = {e["file"]: e for e in report.files}
    assert by_file["nowhere.txt"]["status"] == "refused" and "no image called" in by_file["nowhere.txt"]["reason"]
    assert by_file["two.txt"]["status"] == "accepted" and by_file["two.txt"]["task_id"] == studio.tasks[1].pk
    # A video frame by its exported stem (1-based frame number).
    (tmp_path / "vid").mkdir()
    (tmp_path / "vid/classes.txt").write_text("car\n")
    (tmp_path / "vid/clip_frame000003.txt").write_text(line)
    report = import_from(clip.project, "yolo", tmp_path / "vid")
    assert report.files[0]["frame"] == 3
    box = Annotation.objects.get(task=clip.tasks[0], source=Source.IMPORTED)
    assert box.frame_index == 2 and box.geometry == {"x": 24.0, "y": 18.0, "width": 16.0, "height": 12.0}


def test_declared_image_size_differences_are_scaled_and_reported(studio, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in/one.json").write_text(
        json.dumps(
            {
                "imagePath": "one.png",
                "imageWidth": 128,
                "imageHeight": 96,
                "shapes": [{"label": "car", "shape_type": "rectangle", "points": [[2, 2], [20, 20]]}],
            }
        )
    )
    report = import_from(studio.project, "labelme", tmp_path / "in")
    assert report.files[0]["status"] == "adapted" and "coordinates scaled" in report.files[0]["notes"][0]
    assert imported(studio.tasks[0])[0].geometry == {"x": 1.0, "y": 1.0, "width": 9.0, "height": 9.0}


def _png(array: np.ndarray, ext: str = ".png") -> bytes:
    return cv2.imencode(ext, array)[1].tobytes()


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (lambda: _png(np.full((48, 64), 1, np.uint8), ".jpg"), "a JPEG"),
        (lambda: _png(np.full((48, 64, 3), 1, np.uint8)), "colour (RGB)"),
        (lambda: _png(np.full((48, 64), 1, np.uint16)), "16-bit"),
        (lambda: _png(np.zeros((48, 64), np.uint8)), "every pixel is 0"),
        (lambda: b"not an image", "not a PNG"),
    ],
)
def test_gt_masks_other_than_8bit_single_channel_or_all_background_are_refused(studio, tmp_path, payload, reason):
    (tmp_path / "in").mkdir()
    (tmp_path / "in/one.png").write_bytes(payload())
    report = import_from(studio.project, "gt_masks", tmp_path / "in")
    assert report.files[0]["status"] == "refused"
    assert reason in report.files[0]["reason"]
    assert imported(studio.tasks[0]) == []


def test_gt_mask_of_another_size_is_resized_nearest_neighbour_and_reported(studio, tmp_path):
    mask = np.zeros((24, 32), np.uint8)
    mask[2:10, 2:12] = 1
    mask[12:20, 16:30] = 3
    mask[4:6, 4:6] = 9  # a maskid no class has
    (tmp_path / "in").mkdir()
    (tmp_path / "in/one.png").write_bytes(_png(mask))
    report = import_from(studio.project, "gt_masks", tmp_path / "in", on_invalid_shape="skip_shape")
    entry = report.files[0]
    assert entry["status"] == "adapted" and "resized (nearest neighbour)" in entry["notes"][0]
    assert {s["class"]: s["status"] for s in entry["shapes"]} == {
        "maskid 1": "accepted",
        "maskid 3": "accepted",
        "maskid 9": "refused",
    }
    labels = sorted(a.label.maskid for a in imported(studio.tasks[0]))
    assert labels == [1, 3]
    assert {a.type for a in imported(studio.tasks[0])} == {"mask"}


def test_dry_run_reports_and_writes_nothing(studio, tmp_path):
    coco_file(tmp_path / "in", [ann([[2, 2, 20, 2, 20, 20]])])
    report = import_from(studio.project, "coco", tmp_path / "in", dry_run=True)
    assert report.files[0]["status"] == "accepted"
    assert imported(studio.tasks[0]) == []


def test_archives_are_extracted_only_through_the_safe_paths(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("/etc/evil.json", "{}")
        archive.writestr("../../escape.json", "{}")
        archive.writestr("ok/one.json", "{}")
    upload = tmp_path / "upload.zip"
    upload.write_bytes(buffer.getvalue())
    root = unpack_upload(upload, "upload.zip", tmp_path / "x" / "files")
    written = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert written == ["escape.json", "etc/evil.json", "ok/one.json"]
    assert not (tmp_path / "escape.json").exists() and not (tmp_path / "x" / "escape.json").exists()


@override_settings(EXPORTS_IMPORT_MAX_EXTRACTED_BYTES=1000)
def test_a_zip_bomb_is_refused_before_extraction(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.json", "0" * 100_000)
    upload = tmp_path / "bomb.zip"
    upload.write_bytes(buffer.getvalue())
    with pytest.raises(ArchiveRefused, match="unpacks to"):
        unpack_upload(upload, "bomb.zip", tmp_path / "files")
    assert not (tmp_path / "files" / "big.json").exists()
