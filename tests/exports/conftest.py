"""Projects to export: tasks through the tasks services, real image / video files on storage
(a small stand-in for media ingest), annotations through ``write_annotations``."""

from __future__ import annotations

import hashlib
import io
import itertools
from dataclasses import dataclass, field

import cv2
import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from annotations.services.saving import write_annotations
from media.models import Asset, AssetKind, AssetStatus, Frame
from tasks.services.tasks import create_batch, create_task

_names = itertools.count(1)

LABELS = [
    {"name": "car", "color": "#ff0000", "maskid": 1, "z_order": 0},
    {
        "name": "person",
        "color": "#00ff00",
        "maskid": 2,
        "z_order": 1,
        "aliases": ["pedestrian"],
        "keypoints": {"names": ["head", "hand"], "edges": [[0, 1]]},
    },
    {"name": "dog", "color": "#0000ff", "maskid": 3, "z_order": 2},
    {"name": "unclassified", "color": "#808080", "maskid": 0, "z_order": 3},
]

SQUARE_WITH_HOLE = {
    "exterior": [[4, 4], [36, 4], [36, 36], [4, 36]],
    "holes": [[[14, 14], [26, 14], [26, 26], [14, 26]]],
}


def png_image(width: int, height: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    return cv2.imencode(".png", image)[1].tobytes()


def video_bytes(frames: int, width: int, height: int) -> bytes:
    """A small H.264 / MPEG-4 video whose frame i is a flat grey of level 20 * i."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            image = np.full((height, width, 3), 20 * i, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def _asset(task, kind: str, name: str, data: bytes, width: int, height: int, frames: int) -> Asset:
    path = default_storage.save(f"{task.project.storage_prefix}/media/{task.pk}/{name}", ContentFile(data))
    asset = Asset(
        project=task.project,
        task=task,
        kind=kind,
        original_name=name,
        file=path,
        size_bytes=len(data),
        content_hash=hashlib.sha256(data + str(task.pk).encode()).hexdigest(),
        width=width,
        height=height,
        frame_count=frames,
        status=AssetStatus.READY,
        metadata={"fps": 25} if kind == AssetKind.VIDEO else {},
    )
    asset.inherit_organization(task)
    asset.save()
    return asset


def add_image_task(world, project, name: str | None = None, width: int = 64, height: int = 48, **task_kw):
    name = name or f"img{next(_names)}.png"
    task = create_task(actor=world.owner, project=project, name=name, **task_kw)
    data = png_image(width, height, task.pk)
    asset = _asset(task, AssetKind.IMAGE, name, data, width, height, 1)
    frame = Frame(task=task, index=0, asset=asset, width=width, height=height)
    frame.inherit_organization(task)
    frame.save()
    return task


def add_video_task(world, project, name: str = "clip.mp4", frames: int = 6, width: int = 64, height: int = 48, **kw):
    task = create_task(actor=world.owner, project=project, name=name, **kw)
    asset = _asset(task, AssetKind.VIDEO, name, video_bytes(frames, width, height), width, height, frames)
    rows = [
        Frame(task=task, index=i, asset=asset, asset_frame=i, width=width, height=height, pts_ms=i * 40.0 + 1000)
        for i in range(frames)
    ]
    for row in rows:
        row.inherit_organization(task)
    Frame.objects.bulk_create(rows)
    return task


def annotate(task, shapes: list[dict], source: str = "manual", actor=None):
    return write_annotations(task, shapes, source=source, actor=actor, action="test")


def box(x, y, w, h, class_name="car", frame_index=0, **extra):
    return {
        "type": "bbox",
        "class_name": class_name,
        "frame_index": frame_index,
        "geometry": {"x": x, "y": y, "width": w, "height": h},
        **extra,
    }


def polygon(polygons, class_name="dog", frame_index=0):
    return {"type": "polygon", "class_name": class_name, "frame_index": frame_index, "geometry": {"polygons": polygons}}


def ring(x, y, w, h):
    return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]


@dataclass
class Studio:
    """An image project (car, person with keypoints, dog, unclassified) with three images."""

    world: object
    project: object
    tasks: list = field(default_factory=list)


@pytest.fixture
def studio(world_a, make_project) -> Studio:
    project = make_project(world_a, kind="image", labels=LABELS, name="Street scenes")
    batch = create_batch(actor=world_a.owner, project=project, name="first")
    one = add_image_task(world_a, project, "one.png", batch=batch)
    two = add_image_task(world_a, project, "two.png")
    three = add_image_task(world_a, project, "three.png", tags=["val"])
    annotate(one, [box(2, 3, 20, 10, "car"), polygon([SQUARE_WITH_HOLE], "dog")])
    annotate(
        two,
        [
            polygon(
                [{"exterior": ring(30, 10, 20, 20), "holes": []}, {"exterior": ring(5, 30, 8, 8), "holes": []}], "car"
            ),
            {
                "type": "keypoints",
                "class_name": "person",
                "frame_index": 0,
                "geometry": {
                    "points": [
                        {"name": "head", "x": 10, "y": 10, "visibility": 2},
                        {"name": "hand", "x": 14, "y": 20, "visibility": 1},
                    ]
                },
            },
            {"type": "polyline", "class_name": "car", "frame_index": 0, "geometry": {"points": [[1, 1], [20, 20]]}},
        ],
    )
    annotate(three, [box(10, 10, 30, 30, "person"), box(20, 20, 10, 10, "unclassified")])
    annotate(three, [box(40, 5, 10, 10, "dog")], source="ai")
    return Studio(world=world_a, project=project, tasks=[one, two, three])


@pytest.fixture
def clip(world_a, make_project) -> Studio:
    """A video project with one 6-frame 64x48 video, a track and a per-frame box."""
    project = make_project(world_a, kind="video", labels=LABELS, name="Clip project")
    task = add_video_task(world_a, project, "clip.mp4", frames=6)
    annotate(
        task,
        [
            {
                "annotation_type": "video_track",
                "class_name": "person",
                "geometry": {
                    "type": "video_track",
                    "track_id": "trk_a",
                    "keyframes": [
                        {"frame_index": 0, "bbox": {"x": 0.0, "y": 0.0, "w": 0.25, "h": 0.5}},
                        {"frame_index": 4, "bbox": {"x": 0.5, "y": 0.0, "w": 0.25, "h": 0.5}, "occluded": True},
                        {"frame_index": 5, "absent": True},
                    ],
                },
            },
            box(8, 8, 16, 16, "car", frame_index=2),
        ],
    )
    return Studio(world=world_a, project=project, tasks=[task])


def add_dicom_task(world, project, slices: int = 3, size: int = 32):
    """A CT series (one file per slice, as ingest stores it) with one frame per slice."""
    from media.synthetic import ct_series

    task = create_task(actor=world.owner, project=project, name="ct")
    rows = []
    for position, (name, data) in enumerate(ct_series(slices=slices, size=size)):
        asset = _asset(task, AssetKind.DICOM, name, data, size, size, 1)
        asset.position = position
        asset.save(update_fields=["position"])
        rows.append(Frame(task=task, index=position, asset=asset, asset_frame=0, width=size, height=size))
    for row in rows:
        row.inherit_organization(task)
    Frame.objects.bulk_create(rows)
    return task
