"""Helpers for the annotation tests: projects with labels, tasks (tasks services), frames
(a small stand-in for media ingest), and the lock (the real next-task claim)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from media.models import Asset, AssetKind, AssetStatus, Frame
from organizations.roles import Role
from tasks.models import Task
from tasks.services.claims import claim_next_task
from tasks.services.tasks import create_task
from tests.conftest import World

_names = itertools.count(1)

LABELS = [
    {"name": "car", "color": "#ff0000", "maskid": 1, "aliases": ["automobile", "Vehicle"]},
    {
        "name": "person",
        "color": "#00ff00",
        "maskid": 2,
        "aliases": ["pedestrian"],
        "keypoints": {"names": ["head", "left_hand", "right_hand"], "edges": [[0, 1], [0, 2]]},
    },
    {
        "name": "dog",
        "color": "#0000ff",
        "maskid": 3,
        "attributes": [
            {"name": "color", "type": "select", "options": ["brown", "black"]},
            {"name": "age", "type": "number", "min": 0, "max": 30},
        ],
    },
]


def new_task(world: World, project, **kwargs) -> Task:
    return create_task(actor=world.owner, project=project, name=kwargs.pop("name", f"t{next(_names)}"), **kwargs)


def add_frames(task: Task, count: int = 1, width: int = 640, height: int = 480) -> None:
    """Frames of ``width`` x ``height`` for ``task`` (what media ingest will write)."""
    kind = AssetKind.VIDEO if count > 1 else AssetKind.IMAGE
    asset = Asset(
        project=task.project,
        task=task,
        kind=kind,
        original_name=f"{task.name}.{'mp4' if count > 1 else 'jpg'}",
        file=f"{task.project.storage_prefix}/{task.pk}",
        content_hash=f"{task.pk:064d}",
        width=width,
        height=height,
        frame_count=count,
        status=AssetStatus.READY,
    )
    asset.inherit_organization(task)
    asset.save()
    frames = [
        Frame(task=task, index=i, asset=asset, asset_frame=i, width=width, height=height, pts_ms=i * 40.0)
        for i in range(count)
    ]
    for frame in frames:
        frame.inherit_organization(task)
    Frame.objects.bulk_create(frames)


def claim(task: Task, user) -> Task:
    """Take the task's lock through the real next-task claim (one open task per project)."""
    got = claim_next_task(user=user, project=task.project)
    assert got is not None and got.pk == task.pk, "the claim must hand out this test's task"
    return Task.objects.get(pk=task.pk)


@dataclass
class Desk:
    """A project, one task claimed by the annotator, and URLs."""

    world: World
    project: object
    task: Task

    @property
    def url(self) -> str:
        return f"/api/v1/tasks/{self.task.pk}"

    def client(self, role: str = Role.ANNOTATOR):
        return self.world.client(role)

    @property
    def annotator(self):
        return self.world.user(Role.ANNOTATOR)

    def refresh(self) -> Task:
        self.task = Task.objects.get(pk=self.task.pk)
        return self.task

    def submit(self, shapes, role: str = Role.ANNOTATOR, **extra):
        return self.client(role).post(f"{self.url}/annotations", {"shapes": shapes, **extra}, format="json")

    def draft(self, shapes, role: str = Role.ANNOTATOR, **extra):
        return self.client(role).put(f"{self.url}/annotations/draft", {"shapes": shapes, **extra}, format="json")

    def current(self, **params):
        return self.client().get(f"{self.url}/annotations", params).json()


@pytest.fixture
def desk_factory(make_project):
    def build(world: World, kind: str = "image", frames: int = 1, width: int = 640, height: int = 480, **task_kw):
        project = make_project(world, kind=kind, labels=LABELS)
        task = new_task(world, project, **task_kw)
        if frames:
            add_frames(task, frames, width, height)
        claim(task, world.user(Role.ANNOTATOR))
        return Desk(world=world, project=project, task=Task.objects.get(pk=task.pk))

    return build


@pytest.fixture
def desk(world_a, desk_factory) -> Desk:
    """An image project (car, person, dog) with one 640x480 task claimed by the annotator."""
    return desk_factory(world_a)


@pytest.fixture
def video_desk(world_a, desk_factory) -> Desk:
    """A video project with a 100-frame 640x360 task claimed by the annotator."""
    return desk_factory(world_a, kind="video", frames=100, width=640, height=360)


BOX = {"type": "rectanglelabels", "class_name": "dog", "geometry": {"x": 12, "y": 34, "width": 56, "height": 78}}


def box(x=10, y=20, w=30, h=40, class_name="car", **extra) -> dict:
    return {"type": "bbox", "class_name": class_name, "geometry": {"x": x, "y": y, "width": w, "height": h}, **extra}


def keyframe(index: int, x=0.1, y=0.2, w=0.3, h=0.4, **flags) -> dict:
    return {
        "frame_index": index,
        "bbox": {"x": x, "y": y, "w": w, "h": h},
        "source": flags.pop("source", "manual"),
        "absent": flags.pop("absent", False),
        "occluded": flags.pop("occluded", False),
    }


def track(*keyframes: dict, class_name: str = "person", track_id: str | None = None) -> dict:
    geometry = {"type": "video_track", "keyframes": list(keyframes)}
    if track_id:
        geometry["track_id"] = track_id
    return {"annotation_type": "video_track", "class_name": class_name, "geometry": geometry}


def video_bbox(index: int, x=0.1, y=0.2, w=0.3, h=0.4, class_name: str = "person") -> dict:
    return {
        "annotation_type": "video_bbox",
        "class_name": class_name,
        "geometry": {"type": "video_bbox", "frame_index": index, "x": x, "y": y, "w": w, "h": h},
    }
