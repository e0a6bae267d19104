"""Scopes: whole project, batch, status filter, frame range, current frame, sources, splits."""

from __future__ import annotations

import json

import pytest
import yaml
from django.core.exceptions import ValidationError

from exports.scope import normalize_scope, split_for_task
from exports.services.exports import check_scope_objects
from tasks.models import TaskStatus
from tests.exports.helpers import export_to, files

pytestmark = pytest.mark.django_db


def coco_images(folder, subset="default"):
    doc = json.loads((folder / f"annotations/instances_{subset}.json").read_text())
    return sorted(img["file_name"] for img in doc["images"]), doc


def test_whole_project_and_batch(studio, tmp_path):
    assert coco_images(export_to(studio.project, "coco", tmp_path / "a") and tmp_path / "a")[0] == [
        "one.png",
        "three.png",
        "two.png",
    ]
    batch = studio.tasks[0].batch
    export_to(studio.project, "coco", tmp_path / "b", scope={"batch_id": batch.pk})
    assert coco_images(tmp_path / "b")[0] == ["one.png"]


def test_status_filter(studio, tmp_path):
    type(studio.tasks[1]).objects.filter(pk=studio.tasks[1].pk).update(status=TaskStatus.COMPLETED)
    export_to(studio.project, "coco", tmp_path, scope={"statuses": ["completed", "reviewed"]})
    assert coco_images(tmp_path)[0] == ["two.png"]


def test_frame_range_is_one_based_and_inclusive(clip, tmp_path):
    export_to(clip.project, "images", tmp_path / "out", scope={"frame_start": 2, "frame_end": 3})
    assert files(tmp_path / "out") == ["images/default/clip_frame000002.jpg", "images/default/clip_frame000003.jpg"]


def test_current_frame(clip, tmp_path):
    ctx = export_to(clip.project, "mot", tmp_path, scope={"task_id": clip.tasks[0].pk, "frame": 3})
    assert ctx.frames_written == 1
    rows = (tmp_path / "gt/gt.txt").read_text().splitlines()
    assert {row.split(",")[0] for row in rows} == {"3"} and len(rows) == 2  # the track and the car


def test_raw_ai_candidates_are_left_out_unless_asked(studio, tmp_path):
    _, doc = coco_images(export_to(studio.project, "coco", tmp_path / "a") and tmp_path / "a")
    assert len(doc["annotations"]) == 6
    export_to(studio.project, "coco", tmp_path / "b", scope={"sources": ["manual", "ai"]})
    _, doc = coco_images(tmp_path / "b")
    assert len(doc["annotations"]) == 7


def test_annotated_only_leaves_out_empty_frames(clip, tmp_path):
    ctx = export_to(clip.project, "images", tmp_path, scope={"annotated_only": True})
    assert ctx.frames_written == 5  # frame 6: the track is absent and nothing else is there


def test_ratio_split_is_deterministic_per_task_and_in_each_layout(studio, tmp_path):
    split = {"mode": "ratio", "train": 0.5, "val": 0.5, "test": 0.0, "seed": 7}
    subsets = {t.pk: split_for_task(split, t.pk, set()) for t in studio.tasks}
    assert subsets == {t.pk: split_for_task(split, t.pk, set()) for t in studio.tasks}
    export_to(studio.project, "coco", tmp_path / "coco", scope={"split": split})
    for subset in set(subsets.values()):
        names, _ = coco_images(tmp_path / "coco", subset)
        assert len(names) == sum(1 for s in subsets.values() if s == subset)
    export_to(studio.project, "yolo", tmp_path / "yolo", scope={"split": split})
    data = yaml.safe_load((tmp_path / "yolo/data.yaml").read_text())
    assert data["train"] == "images/train" and data["val"] == "images/val"
    export_to(studio.project, "voc", tmp_path / "voc", scope={"split": split}, masks="none")
    assert {f for f in files(tmp_path / "voc") if f.startswith("ImageSets/Main/")} == {
        f"ImageSets/Main/{s}.txt" for s in set(subsets.values())
    }


def test_tag_split_uses_train_val_test_tags(studio, tmp_path):
    export_to(studio.project, "yolo", tmp_path, scope={"split": {"mode": "tag", "untagged": "train"}})
    assert "labels/val/three.txt" in files(tmp_path)
    assert "labels/train/one.txt" in files(tmp_path)
    export_to(studio.project, "yolo", tmp_path / "skip", scope={"split": {"mode": "tag", "untagged": "skip"}})
    assert [f for f in files(tmp_path / "skip") if f.startswith("labels/")] == ["labels/val/three.txt"]


@pytest.mark.parametrize(
    ("scope", "field"),
    [
        ({"frame_start": 5, "frame_end": 2}, "scope.frame_end"),
        ({"sources": ["robot"]}, "scope.sources"),
        ({"statuses": ["done"]}, "scope.statuses"),
        ({"split": {"mode": "ratio", "train": 0.9, "val": 0.2}}, "scope.split"),
        ({"colour": 1}, "scope.colour"),
    ],
)
def test_invalid_scopes_name_the_field(scope, field):
    with pytest.raises(ValidationError) as caught:
        normalize_scope(scope)
    assert field in caught.value.message_dict


def test_ids_in_the_scope_must_belong_to_the_project(studio, clip):
    with pytest.raises(ValidationError) as caught:
        check_scope_objects(studio.project, normalize_scope({"task_id": clip.tasks[0].pk, "frame": 1}))
    assert "scope.task_id" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        check_scope_objects(clip.project, normalize_scope({"task_id": clip.tasks[0].pk, "frame": 99}))
    assert "has 6 frame(s)" in caught.value.message_dict["scope.frame"][0]
