"""labelme in: ``*.json`` files with ``shapes`` and ``imagePath``.

``rectangle`` → box (two corners, any order); ``polygon`` → polygon (parts sharing a
``group_id`` and label become one multipolygon); ``linestrip`` / ``line`` → polyline;
``point`` → points (sharing a ``group_id``: one points shape; with descriptions naming
the label's keypoints: a pose); ``mask`` → the base64 PNG traced into polygons with holes;
``circle`` → a 64-gon (reported as adapted). ``imageData`` is never decoded.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from annotations import geometry
from exports.importers.base import (
    MAX_MASK_PIXELS,
    Importer,
    ParsedFile,
    ParsedShape,
    files_under,
    png_header,
    read_small,
)


class LabelmeImporter(Importer):
    name = "labelme"
    title = "labelme JSON"
    description = "<name>.json with shapes (rectangle, polygon, linestrip, point, mask, circle)"

    def parse(self, root: Path) -> Iterator[ParsedFile]:
        for path in files_under(root, ".json"):
            rel = str(path.relative_to(root))
            data = read_small(path)
            if isinstance(data, str):
                yield ParsedFile(rel, path.stem, refused=data)
                continue
            try:
                document = json.loads(data)
            except (ValueError, UnicodeDecodeError) as exc:
                yield ParsedFile(rel, path.stem, refused=f"not valid JSON: {exc}")
                continue
            if not isinstance(document, dict) or not isinstance(document.get("shapes"), list):
                continue
            image = str(document.get("imagePath") or path.stem).replace("\\", "/").rsplit("/", 1)[-1]
            parsed = ParsedFile(
                rel, image, width=_int(document.get("imageWidth")), height=_int(document.get("imageHeight"))
            )
            parsed.shapes = labelme_shapes(document["shapes"])
            yield parsed


def _int(value) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value else None


def labelme_shapes(raw: list) -> list[ParsedShape]:
    shapes: list[ParsedShape] = []
    groups: dict[tuple, ParsedShape] = {}
    for number, item in enumerate(raw, start=1):
        where = f"shape {number}"
        if not isinstance(item, dict):
            shapes.append(ParsedShape("polygon", {}, where=where, problems=["a shape must be an object"]))
            continue
        kind = item.get("shape_type") or "polygon"
        label = str(item.get("label") or "")
        points = item.get("points") or []
        group = item.get("group_id")
        attributes = item.get("attributes") if isinstance(item.get("attributes"), dict) else {}
        shape = ParsedShape("polygon", {}, class_name=label or None, where=where, attributes=dict(attributes))
        if not label:
            shape.problems.append("shape without a label")
        if kind == "rectangle":
            if len(points) != 2:
                shape.problems.append("a rectangle needs two corners")
            else:
                (x0, y0), (x1, y1) = points[0][:2], points[1][:2]
                shape.type = "bbox"
                shape.geometry = {"x": min(x0, x1), "y": min(y0, y1), "width": abs(x1 - x0), "height": abs(y1 - y0)}
        elif kind == "polygon":
            if group is not None and (label, group, "polygon") in groups:
                groups[(label, group, "polygon")].geometry["polygons"].append({"exterior": points, "holes": []})
                continue
            shape.geometry = {"polygons": [{"exterior": points, "holes": []}]}
            if group is not None:
                groups[(label, group, "polygon")] = shape
        elif kind in ("linestrip", "line"):
            shape.type = "polyline"
            shape.geometry = {"points": points}
        elif kind == "point":
            if group is not None and (label, group, "point") in groups:
                target = groups[(label, group, "point")]
                target.geometry["points"].extend(points[:1])
                target.geometry.setdefault("_names", []).append(item.get("description") or "")
                continue
            shape.type = "points"
            shape.geometry = {"points": list(points[:1]), "_names": [item.get("description") or ""]}
            if group is not None:
                groups[(label, group, "point")] = shape
        elif kind == "circle" and len(points) == 2:
            (cx, cy), (px, py) = points[0][:2], points[1][:2]
            radius = math.hypot(px - cx, py - cy)
            ring = [
                [cx + radius * math.cos(a), cy + radius * math.sin(a)]
                for a in np.linspace(0, 2 * math.pi, 64, endpoint=False)
            ]
            shape.geometry = {"polygons": [{"exterior": ring, "holes": []}]}
            shape.notes.append("circle approximated by a 64-gon")
        elif kind == "mask":
            _mask_shape(shape, item, points)
        else:
            shape.problems.append(f"shape_type {kind!r} is not supported")
        shapes.append(shape)
    return shapes


def _mask_shape(shape: ParsedShape, item: dict, points: list) -> None:
    shape.type = "mask"
    try:
        png = base64.b64decode(str(item.get("mask") or ""), validate=True)
    except (binascii.Error, ValueError):
        shape.problems.append("mask is not base64")
        return
    if len(png) > 64 * 1024**2:
        shape.problems.append("mask PNG is larger than 64 MB")
        return
    header = png_header(png)
    if header is None or header[0] * header[1] > MAX_MASK_PIXELS:
        shape.problems.append("mask is not a PNG of a sane size")
        return
    crop = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    if crop is None or len(points) < 1:
        shape.problems.append("mask PNG could not be decoded")
        return
    try:
        x0, y0 = (round(float(v)) for v in points[0][:2])
    except (TypeError, ValueError):
        shape.problems.append("mask corner is not a number")
        return
    polygons = geometry.mask_to_polygons(crop)
    for polygon in polygons:
        polygon["exterior"] = [[x + x0, y + y0] for x, y in polygon["exterior"]]
        polygon["holes"] = [[[x + x0, y + y0] for x, y in hole] for hole in polygon["holes"]]
    shape.geometry = {"polygons": polygons}
    if not polygons:
        shape.problems.append("the mask has no pixel set")
