"""Our COCO, VOC and YOLO exports open in Datumaro's own importers.

Datumaro pins other versions of OpenCV, Pillow and shapely than ours, so it lives in its own
venv (``.venv-datumaro``, or ``DATUMARO_VENV``), created here on first use from
``requirements-datumaro.txt`` (about 15 s from PyPI), and runs in a subprocess. A failure to
create it fails the test: it is never skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.exports.helpers import export_to

pytestmark = pytest.mark.django_db

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements-datumaro.txt"


def _venv() -> Path:
    return Path(os.environ.get("DATUMARO_VENV") or Path(settings.BASE_DIR) / ".venv-datumaro")


@pytest.fixture(scope="session")
def datumaro_python() -> Path:
    venv = _venv()
    python = venv / "bin" / "python"
    stamp = venv / ".requirements"
    wanted = REQUIREMENTS.read_text()
    if not (python.exists() and stamp.exists() and stamp.read_text() == wanted):
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        (venv / ".gitignore").write_text("*\n")
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
            check=True,
            timeout=900,
        )
        stamp.write_text(wanted)
    return python


def probe(python: Path, fmt: str, path: Path) -> dict:
    done = subprocess.run(
        [str(python), str(HERE / "datumaro_probe.py"), fmt, str(path)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def by_id(result: dict) -> dict[str, dict]:
    return {item["id"].split("/")[-1]: item for item in result["items"]}


def test_coco_instances_import_in_datumaro(studio, tmp_path, datumaro_python):
    export_to(studio.project, "coco", tmp_path / "coco")
    result = probe(datumaro_python, "coco_instances", tmp_path / "coco")
    assert result["labels"] == ["car", "person", "dog", "unclassified"]
    items = by_id(result)
    assert set(items) == {"one", "two", "three"} and items["one"]["subset"] == "default"
    one = {(a["type"], a["label"]) for a in items["one"]["anns"]}
    assert ("bbox", "car") in one and ("mask", "dog") in one  # the polygon with a hole came as RLE
    car = next(a for a in items["one"]["anns"] if a["type"] == "bbox" and a["label"] == "car")
    assert car["bbox"] == [2, 3, 20, 10]
    two = {(a["type"], a["label"]) for a in items["two"]["anns"]}
    # coco_instances reads a pose's box (its keypoints are for Datumaro's person_keypoints importer).
    assert ("polygon", "car") in two and ("bbox", "person") in two


def test_voc_imports_in_datumaro(studio, tmp_path, datumaro_python):
    export_to(studio.project, "voc", tmp_path / "voc")
    result = probe(datumaro_python, "voc", tmp_path / "voc")
    assert {"car", "person", "dog", "unclassified"} <= set(result["labels"])
    items = by_id(result)
    assert set(items) == {"one", "two", "three"}
    boxes = [a for a in items["one"]["anns"] if a["type"] == "bbox"]
    assert {(a["label"], tuple(a["bbox"])) for a in boxes} >= {("car", (2, 3, 20, 10))}
    masks = [a for a in items["one"]["anns"] if a["type"] == "mask"]
    assert {a["label"] for a in masks} == {"car", "dog"}


def test_yolo_imports_in_datumaro(studio, tmp_path, datumaro_python):
    export_to(studio.project, "yolo", tmp_path / "yolo")
    result = probe(datumaro_python, "yolo", tmp_path / "yolo")
    assert result["labels"] == ["car", "person", "dog", "unclassified"]
    items = by_id(result)
    assert set(items) == {"one", "two", "three"} and items["one"]["subset"] == "train"
    car = next(a for a in items["one"]["anns"] if a["label"] == "car")
    assert car["bbox"] == pytest.approx([2, 3, 20, 10], abs=0.01)
    assert [a["label"] for a in items["three"]["anns"]] == ["person", "unclassified"]
