"""YOLO detection and segmentation in: ``.txt`` label files and a class file.

Class names come from ``data.yaml`` (``names`` as a list or ``{id: name}``), else
``classes.txt`` or ``obj.names`` (one name per line, id = line number from 0). Every other
``.txt`` is a label file for the image of the same stem. Lines: ``class cx cy w h`` (a box;
a sixth value is read as a score), or ``class x1 y1 x2 y2 ...`` with at least three points
(a polygon — a keyhole line as written by our ``yolo_seg`` export is repaired back into a
polygon with holes). Coordinates are 0-1 of the frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import yaml

from exports.importers.base import Importer, ParsedFile, ParsedShape, files_under, read_small

CLASS_FILES = ("classes.txt", "obj.names")


def class_names(root: Path) -> list[str] | str:
    """Class names by id, or why none could be read."""
    for path in files_under(root, ".yaml", ".yml"):
        data = read_small(path)
        if isinstance(data, str):
            return f"{path.name}: {data}"
        try:
            loaded = yaml.safe_load(data)
        except yaml.YAMLError as exc:
            return f"{path.name} is not valid YAML: {str(exc).splitlines()[0]}"
        names = loaded.get("names") if isinstance(loaded, dict) else None
        if isinstance(names, dict):
            try:
                return [str(names[k]) for k in sorted(names, key=int)]
            except (TypeError, ValueError):
                return f"{path.name}: names must map class ids 0, 1, ... to names"
        if isinstance(names, list):
            return [str(n) for n in names]
    for path in sorted(p for p in root.rglob("*") if p.name in CLASS_FILES and p.is_file()):
        data = read_small(path)
        if isinstance(data, str):
            return f"{path.name}: {data}"
        return [line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    return "no class file: add data.yaml (names), classes.txt or obj.names"


class YoloImporter(Importer):
    name = "yolo"
    title = "YOLO (detection and segmentation)"
    description = "labels/*.txt with 'class cx cy w h' or polygon lines; data.yaml / classes.txt / obj.names"

    def parse(self, root: Path) -> Iterator[ParsedFile]:
        names = class_names(root)
        for path in files_under(root, ".txt"):
            if (
                path.name in CLASS_FILES
                or path.parent.name == "ImageSets"
                or path.name in ("train.txt", "val.txt", "test.txt")
            ):
                continue
            rel = str(path.relative_to(root))
            parsed = ParsedFile(rel, f"{path.stem}.jpg", normalized=True)
            parsed.image_name = path.stem  # matched by stem (any image extension)
            if isinstance(names, str):
                parsed.refused = names
                yield parsed
                continue
            data = read_small(path)
            if isinstance(data, str):
                parsed.refused = data
                yield parsed
                continue
            for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
                if line.strip():
                    parsed.shapes.append(yolo_shape(line, number, names))
            yield parsed


def yolo_shape(line: str, number: int, names: list[str]) -> ParsedShape:
    shape = ParsedShape(type="bbox", geometry={}, where=f"line {number}")
    fields = line.split()
    try:
        class_id = int(fields[0])
        values = [float(v) for v in fields[1:]]
    except ValueError:
        shape.problems.append(f"not numbers: {line.strip()[:80]!r}")
        return shape
    if not 0 <= class_id < len(names):
        shape.problems.append(f"class {class_id} is not in the class file (0-{len(names) - 1})")
        return shape
    shape.class_name = names[class_id]
    if len(values) in (4, 5):
        cx, cy, w, h = values[:4]
        shape.geometry = {"x": cx - w / 2, "y": cy - h / 2, "width": w, "height": h}
        if len(values) == 5:
            shape.attributes = {}
            shape.notes.append(f"score {values[4]:g} not kept")
        return shape
    if len(values) >= 6 and len(values) % 2 == 0:
        shape.type = "polygon"
        shape.geometry = {
            "polygons": [{"exterior": [[values[i], values[i + 1]] for i in range(0, len(values), 2)], "holes": []}]
        }
        return shape
    shape.problems.append(f"{len(values)} values after the class: a box has 4, a polygon an even number ≥ 6")
    return shape
