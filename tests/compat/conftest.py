"""Fixtures of the compat tests: an image project with labels, an imported picture and a few
annotations, all built through the owning apps' services."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from organizations.roles import Role

_names = itertools.count(1)
LABELS = [
    {"name": "tumor", "color": "#ff0000", "maskid": 1},
    {"name": "stroma", "color": "#00ff00", "maskid": 2},
]
WIDTH, HEIGHT = 64, 48


def picture(width: int = WIDTH, height: int = HEIGHT, variant: int = 0) -> np.ndarray:
    """An RGB picture where every pixel is different (x in red, y in green), so crops can be
    compared exactly; ``variant`` makes another file (imports refuse duplicate content)."""
    ys, xs = np.mgrid[0:height, 0:width]
    rgb = np.stack([xs * 255 // max(width - 1, 1), ys * 255 // max(height - 1, 1), (xs + ys + variant) % 256], axis=-1)
    return rgb.astype(np.uint8)


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def import_picture(world, project, pixels: np.ndarray, name: str | None = None):
    """One image task through media's import service (the actor's function run in-line)."""
    from media.actors import run_import
    from media.services.imports import start_upload_import
    from tasks.models import Task

    filename = name or f"slide-{next(_names)}.png"
    upload = SimpleUploadedFile(filename, png(pixels), content_type="image/png")
    job = start_upload_import(actor=world.owner, project=project, uploaded=[upload])
    run_import.fn(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", (job.status, job.errors, job.message)
    return Task.objects.filter(project=project).order_by("-id").first()


def draw(task, shapes: list[dict], actor) -> list:
    """Annotations drawn in our workspace coordinates (top-left origin, y down)."""
    from annotations.services import write_annotations

    return write_annotations(task, shapes, source="manual", actor=actor, action="draft").annotations


@dataclass
class Slide:
    world: object
    project: object
    task: object
    pixels: np.ndarray
    labels: dict
    annotations: list


BOX = {
    "type": "bbox",
    "class_name": "tumor",
    "geometry": {"x": 10, "y": 5, "width": 20, "height": 12},
    "frame_index": 0,
}
HOLED = {
    "type": "polygon",
    "class_name": "stroma",
    "frame_index": 0,
    "geometry": {
        "polygons": [
            {
                "exterior": [[34.5, 20.5], [60.5, 20.5], [60.5, 44.5], [34.5, 44.5]],
                "holes": [[[40.5, 26.5], [50.5, 26.5], [50.5, 36.5], [40.5, 36.5]]],
            }
        ]
    },
}


@pytest.fixture
def slide(world_a, make_project) -> Slide:
    """World A's image project (tumor, stroma) with one 64x48 image and two annotations: a
    tumor box and a stroma polygon with a hole."""
    from projects.models import LabelClass

    project = make_project(world_a, kind="image", name=f"Pathology {next(_names)}", labels=LABELS)
    pixels = picture()
    task = import_picture(world_a, project, pixels, name="slide-a.png")
    annotations = draw(task, [BOX, HOLED], world_a.user(Role.ANNOTATOR))
    labels = {label.name: label for label in LabelClass.objects.filter(project=project)}
    return Slide(world_a, project, task, pixels, labels, annotations)
