"""The example scripts of docs/compat.md run as written (host, keys and ids substituted)
against a live server."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from annotations.models import Annotation
from ml.models import InferenceRecord
from organizations.roles import Role
from tests.compat.conftest import HEIGHT, WIDTH, png
from tests.compat.test_detection_contract import default_detector

pytestmark = pytest.mark.django_db(transaction=True)
DOC = Path(__file__).resolve().parents[2] / "docs" / "compat.md"


def example(after: str) -> str:
    """The first Python block of docs/compat.md after the heading ``after``."""
    text = DOC.read_text()
    block = re.search(r"```python\n(.*?)```", text[text.index(after) :], re.S)
    assert block is not None
    return block.group(1)


def run(script: str, values: dict[str, str], cwd: Path, monkeypatch) -> dict:
    for name, value in values.items():
        script, count = re.subn(rf"^{name} = .*$", f"{name} = {value}", script, flags=re.M)
        assert count == 1, name
    monkeypatch.chdir(cwd)
    scope: dict = {}
    exec(compile(script, "docs/compat.md", "exec"), scope)  # noqa: S102 (our own documentation)
    return scope


def test_the_cytomine_example_runs(slide, live_server, tmp_path, monkeypatch):
    pair, private = slide.world.key_pair(Role.ANNOTATOR)
    script = example("### The seed script, unchanged except host and keys")
    values = {
        "HOST": repr(live_server.url),
        "PUBLIC_KEY, PRIVATE_KEY": f"{pair.public_key!r}, {private!r}",
        "PROJECT_ID": str(slide.project.pk),
    }
    run(script, values, tmp_path, monkeypatch)
    mask = np.array(Image.open(tmp_path / f"{slide.task.pk}_mask.png"))
    # Flipped as the example does, the tumor box (ours: x 10..30, y 5..17) lands where it was drawn.
    rows, cols = np.nonzero(mask == 1)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (5, 17, 10, 30)
    assert Image.open(tmp_path / f"{slide.task.pk}.jpg").size == (WIDTH, HEIGHT)
    assert (tmp_path / f"{slide.task.pk}.geojson").exists()
    assert Annotation.objects.filter(task=slide.task, source="manual").count() == 3


def test_the_detection_example_runs(world_a, live_server, stub_worker, tmp_path, monkeypatch):
    default_detector(world_a)
    pair, private = world_a.key_pair(Role.MANAGER)
    for name, brightness in (("part-001.jpg", 240), ("part-002.jpg", 10)):
        (tmp_path / name).write_bytes(png(np.full((24, 32, 3), brightness, dtype=np.uint8)))
    script = example("## Coming from a detection service")
    values = {
        "HOST": repr(live_server.url),
        "AUTH": repr({"X-Auth-Token": pair.public_key, "X-Auth-Secret": private}),
    }
    scope = run(script, values, tmp_path, monkeypatch)
    assert [r["defect_count"] for r in scope["results"]] == [1, 0]
    assert (tmp_path / "result-part-001.jpg").stat().st_size > 0
    assert len(scope["recent"]) == 2 and len(scope["per_day"]) == 15
    assert InferenceRecord.objects.for_organization(world_a.org).count() == 2
