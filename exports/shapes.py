"""Stored annotations → the pixel shapes exporters write.

One reader per annotation type; all conversion (normalized boxes, rotated boxes, tracks)
goes through ``annotations.geometry``. Stored geometry was validated by the annotations app
when it was saved; a row that still cannot be read is reported by the caller as a skipped
shape, never guessed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from annotations import geometry
from exports.formats.base import ExportLabel, ExportShape

AREA_TYPES = {"bbox", "rotated_bbox", "polygon", "mask", "video_bbox"}


class UnreadableShape(ValueError):
    pass


def _num(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UnreadableShape(f"not a finite number: {value!r}")
    return float(value)


def _box(data: dict) -> tuple[float, float, float, float]:
    w = data.get("w", data.get("width"))
    h = data.get("h", data.get("height"))
    return _num(data.get("x")), _num(data.get("y")), _num(w), _num(h)


def _points(raw: Any, size: int = 2) -> list[list[float]]:
    if not isinstance(raw, list):
        raise UnreadableShape("points must be a list")
    if size == 2 and raw and type(raw[0]) is list and len(raw[0]) == 2:
        # Stored shapes were validated on save (finite numbers, [x, y] points): used as they are.
        return raw
    out = []
    for point in raw:
        if isinstance(point, dict):
            values = [point.get("x"), point.get("y")]
            if size == 3:
                values.append(point.get("v", point.get("visibility", 2)))
        else:
            values = list(point)[:size]
            if size == 3 and len(values) == 2:
                values.append(2)
        if len(values) != size:
            raise UnreadableShape("a point has the wrong number of values")
        out.append([_num(v) for v in values])
    return out


def _polygons(data: dict) -> list[dict]:
    if "polygons" in data:
        raw = data["polygons"]
    elif "exterior" in data:
        raw = [data]
    elif "points" in data:
        raw = [{"exterior": data["points"], "holes": []}]
    else:
        raise UnreadableShape("no polygons")
    polygons = []
    for part in raw:
        if isinstance(part, list):  # a bare ring
            part = {"exterior": part, "holes": []}
        exterior = _points(part.get("exterior"))
        holes = [_points(h) for h in part.get("holes") or []]
        if len(exterior) < 3:
            raise UnreadableShape("a polygon needs at least 3 points")
        polygons.append({"exterior": exterior, "holes": [h for h in holes if len(h) >= 3]})
    return polygons


def shape_from_annotation(annotation, label: ExportLabel | None, width: int, height: int) -> ExportShape | None:
    """The shape of a per-frame annotation (not a track); None for types without pixels."""
    data = annotation.geometry or {}
    kind_type = annotation.type
    common = {
        "type": kind_type,
        "label": label,
        "annotation_id": annotation.pk,
        "track_id": annotation.object_id or "",
        "source": annotation.source,
        "score": annotation.score,
        "attributes": annotation.attributes or {},
        "occluded": bool(data.get("occluded", False)),
    }
    if kind_type == "bbox":
        x, y, w, h = _box(data)
        return ExportShape(kind="area", box=(x, y, w, h), polygons=geometry.bbox_to_polygon(x, y, w, h), **common)
    if kind_type == "video_bbox":
        box = data.get("bbox", data)
        x, y, w, h = geometry.normalized_box_to_pixels(dict(zip("xywh", _box(box), strict=True)), width, height)
        return ExportShape(kind="area", box=(x, y, w, h), polygons=geometry.bbox_to_polygon(x, y, w, h), **common)
    if kind_type == "rotated_bbox":
        w, h = _num(data.get("w", data.get("width"))), _num(data.get("h", data.get("height")))
        if "cx" in data:
            cx, cy = _num(data["cx"]), _num(data["cy"])
        else:
            cx, cy = _num(data.get("x")) + w / 2, _num(data.get("y")) + h / 2
        corners = geometry.rotated_box_corners(cx, cy, w, h, _num(data.get("angle", data.get("rotation", 0))))
        polygons = [{"exterior": corners, "holes": []}]
        return ExportShape(kind="area", polygons=polygons, **common)
    if kind_type in ("polygon", "mask"):
        if kind_type == "mask" and isinstance(data.get("rle"), dict):
            rle = data["rle"]
            return ExportShape(kind="area", rle=rle, **common)
        polygons = _polygons(data)
        return ExportShape(kind="area", polygons=polygons, **common)
    if kind_type == "polyline":
        points = _points(data.get("points"))
        return ExportShape(kind="line", points=points, **common)
    if kind_type == "points":
        points = _points(data.get("points"))
        return ExportShape(kind="points", points=points, **common)
    if kind_type == "keypoints":
        points = _points(data.get("points", data.get("keypoints")), size=3)
        return ExportShape(kind="keypoints", points=points, **common)
    if kind_type == "classification":
        return ExportShape(kind="tag", **common)
    return None


def track_shapes(annotation, label: ExportLabel | None, width: int, height: int, frame_count: int) -> Iterator[tuple]:
    """``(frame_index, shape)`` for every visible frame of a ``video_track`` (interpolated
    frames computed by ``geometry.track_frames``, never stored)."""
    data = annotation.geometry or {}
    keyframes = sorted(data.get("keyframes") or [], key=lambda k: k.get("frame_index", 0))
    track_id = str(data.get("track_id") or annotation.object_id or annotation.pk)
    for item in geometry.track_frames(keyframes, frame_count=frame_count):
        x, y, w, h = geometry.normalized_box_to_pixels(item["bbox"], width, height)
        yield (
            item["frame_index"],
            ExportShape(
                kind="area",
                type="video_track",
                label=label,
                box=(x, y, w, h),
                polygons=geometry.bbox_to_polygon(x, y, w, h),
                annotation_id=annotation.pk,
                track_id=track_id,
                occluded=item["occluded"],
                keyframe=item["keyframe"],
                source=annotation.source if item["keyframe"] else "interpolated",
                score=annotation.score,
                attributes=annotation.attributes or {},
            ),
        )
