"""Fixtures for the ML tests: the real SAM 2.1 tiny model with random weights (loaded from a
checkpoint file through the production loading path), media imported through the media
app's own import service, and tiny TorchScript models the tests build themselves."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
import torch
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from organizations.roles import Role

torch.set_num_threads(2)
_names = itertools.count(1)

LABELS = [
    {"name": "car", "color": "#ff0000", "maskid": 1, "aliases": ["automobile"]},
    {"name": "person", "color": "#00ff00", "maskid": 2, "aliases": ["pedestrian"]},
]


# --- SAM 2.1 ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sam_checkpoint(tmp_path_factory) -> str:
    """A SAM 2.1 hiera-tiny checkpoint with random weights, saved as the real files are
    (``{"model": state_dict}``) so the engine loads it through ``build_sam2_video_predictor``."""
    from sam2.build_sam import build_sam2

    torch.manual_seed(0)
    model = build_sam2("configs/sam2.1/sam2.1_hiera_t.yaml", None, device="cpu", apply_postprocessing=False)
    path = tmp_path_factory.mktemp("sam2") / "sam2.1_hiera_tiny_random.pt"
    torch.save({"model": model.state_dict()}, path)
    del model
    return str(path)


@pytest.fixture
def sam_settings(settings, sam_checkpoint):
    """SAM configured (tiny, CPU); the engine is loaded once per session and its embedding
    cache emptied for each test."""
    from ml.engine import sam as engine_module

    settings.SAM2_CHECKPOINT = sam_checkpoint
    settings.SAM2_CONFIG = "tiny"
    settings.ML_DEVICE = "cpu"
    engine = engine_module.get_engine()
    engine.embeddings.clear()
    yield settings
    engine.embeddings.clear()


@pytest.fixture
def no_sam(settings):
    settings.SAM2_CHECKPOINT = None
    return settings


# --- media -------------------------------------------------------------------------------------
def png(picture: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()


_variants = itertools.count(1)


def scene(width: int = 96, height: int = 64, shift: int = 0) -> np.ndarray:
    """A dark picture with a bright square that moves ``shift`` pixels right (each call's
    bytes differ by one dark pixel: media refuses a file a project already holds)."""
    picture = blank(width, height)
    picture[16:40, 20 + shift : 44 + shift] = (220, 200, 40)
    return picture


def blank(width: int = 96, height: int = 64) -> np.ndarray:
    picture = np.full((height, width, 3), 30, dtype=np.uint8)
    n = next(_variants)
    picture[height - 1, n % width] = (31 + n // width % 200, 30, 30)
    return picture


def import_pictures(world, project, pictures: list[np.ndarray], name: str | None = None):
    """Import pictures through media's own import service (one folder = one task)."""
    from media.actors import run_import
    from media.services.imports import start_upload_import
    from tasks.models import Task

    folder = name or f"clip{next(_names)}"
    before = set(Task.objects.filter(project=project).values_list("pk", flat=True))
    files = [SimpleUploadedFile(f"{i:05d}.png", png(p), content_type="image/png") for i, p in enumerate(pictures)]
    paths = [f"{folder}/{i:05d}.png" for i in range(len(pictures))] if len(pictures) > 1 else []
    job = start_upload_import(actor=world.owner, project=project, uploaded=files, paths=paths)
    run_import.fn(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", (job.status, job.errors, job.message)
    (task,) = Task.objects.filter(project=project).exclude(pk__in=before)
    assert task.frames.count() == len(pictures)
    return task


@pytest.fixture
def clip(world_a, make_project):
    """A sequential-image project (car, person) with one task of 3 frames 96x64 where a
    square moves right, and object "1" (a car) drawn as a mask on frame 0."""
    from annotations.services import write_annotations

    project = make_project(world_a, kind="sequential_image", labels=LABELS)
    task = import_pictures(world_a, project, [scene(shift=4 * i) for i in range(3)])
    write_annotations(
        task,
        [square_mask_shape(0, "1", "car")],
        source="manual",
        actor=world_a.user(Role.ANNOTATOR),
        action="draft",
    )
    return task


def square_mask_shape(frame_index: int, object_id: str, class_name: str, x0=20, y0=16, x1=44, y1=40) -> dict:
    return {
        "type": "mask",
        "class_name": class_name,
        "frame_index": frame_index,
        "object_id": object_id,
        "geometry": {"polygons": [{"exterior": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], "holes": []}]},
    }


# --- organization models ------------------------------------------------------------------------
@pytest.fixture(scope="session")
def torchscript_files() -> dict[str, bytes]:
    from tests.ml.tiny_models import all_models

    return all_models()


@pytest.fixture
def register(world_a, torchscript_files):
    """Register (through the service) and validate (through the worker actor) a tiny model."""
    from ml.actors import validate_model
    from ml.services.registry import register_model
    from tests.ml.tiny_models import LABEL_MAP

    def build(kind: str = "detection", *, world=None, name: str | None = None, file: str | None = None, **kw):
        world = world or world_a
        model = register_model(
            actor=world.owner,
            organization=world.org,
            name=name or f"{kind}-model",
            kind=kind,
            file=SimpleUploadedFile("model.pt", torchscript_files[file or kind]),
            input_width=48,
            input_height=32,
            # a segmenter's background (index 0) stays out of its label map
            label_map=kw.pop("label_map", LABEL_MAP[1:] if kind == "segmentation" else LABEL_MAP),
            **kw,
        )
        validate_model.fn(model.pk)
        model.refresh_from_db()
        return model

    return build
