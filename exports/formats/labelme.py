"""labelme: one ``<stem>.json`` beside each image (``<subset>/`` folders with a split).

Shapes: boxes → ``rectangle`` (two corners); polygons and rotated boxes → ``polygon`` (one
shape per part, parts of one annotation share a ``group_id``); a shape with holes →
``mask`` (labelme ≥ 5.3: a base64 PNG of the mask inside the two-corner box, drawn by the
shared rasteriser); polylines → ``linestrip``; points → one ``point`` each (shared
``group_id``); keypoints → one ``point`` per labelled keypoint, ``description`` = the
keypoint's name. ``imageData`` is null: the image file sits beside the JSON.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable

from annotations import geometry
from exports.formats.base import ExportContext, Exporter, ExportFrame, ExportShape, encode_image

LABELME_VERSION = "5.5.0"


def _pt(x: float, y: float) -> list[float]:
    return [x, y]


def labelme_shapes(shape: ExportShape, frame: ExportFrame, group: int) -> list[dict]:
    name = shape.label.name
    base = {"label": name, "description": "", "flags": {}, "group_id": None}
    if shape.attributes:
        base["attributes"] = shape.attributes
    if shape.kind == "area":
        if shape.type in ("bbox", "video_bbox", "video_track"):
            x, y, w, h = shape.bbox
            return [{**base, "shape_type": "rectangle", "points": [_pt(x, y), _pt(x + w, y + h)]}]
        if shape.rle is not None or shape.has_holes:
            mask = shape.mask(frame.height, frame.width)
            x, y, w, h = (int(v) for v in geometry.mask_bbox(mask))
            if w == 0:
                return []
            crop = mask[y : y + h, x : x + w] * 255
            data = base64.b64encode(encode_image(".png", crop)).decode("ascii")
            return [{**base, "shape_type": "mask", "points": [[x, y], [x + w - 1, y + h - 1]], "mask": data}]
        parts = shape.polygons or []
        gid = group if len(parts) > 1 else None
        return [{**base, "group_id": gid, "shape_type": "polygon", "points": p["exterior"]} for p in parts]
    if shape.kind == "line":
        return [{**base, "shape_type": "linestrip", "points": [_pt(x, y) for x, y in shape.points]}]
    if shape.kind == "points":
        gid = group if len(shape.points) > 1 else None
        return [{**base, "group_id": gid, "shape_type": "point", "points": [_pt(x, y)]} for x, y in shape.points]
    if shape.kind == "keypoints":
        names = shape.label.keypoint_names
        out = []
        for index, (x, y, v) in enumerate(shape.points):
            if v <= 0:
                continue
            description = names[index] if index < len(names) else str(index)
            flags = {"hidden": True} if v == 1 else {}
            out.append(
                {
                    **base,
                    "group_id": group,
                    "description": description,
                    "flags": flags,
                    "shape_type": "point",
                    "points": [_pt(x, y)],
                }
            )
        return out
    return []


def labelme_document(frame: ExportFrame, ctx: ExportContext) -> dict:
    shapes: list[dict] = []
    flags: dict[str, bool] = {}
    group = 0
    for shape in frame.shapes:
        if shape.label is None:
            ctx.skip("no label")
            continue
        if shape.kind == "tag":
            flags[shape.label.name] = True
            continue
        group += 1
        converted = labelme_shapes(shape, frame, group)
        if converted:
            ctx.annotation_count += 1
        shapes.extend(converted)
    return {
        "version": LABELME_VERSION,
        "flags": flags,
        "shapes": shapes,
        "imagePath": frame.image_name,
        "imageData": None,
        "imageHeight": frame.height,
        "imageWidth": frame.width,
    }


class Labelme(Exporter):
    name = "labelme"
    title = "labelme JSON"
    description = "<stem>.json beside each image (labelme 5.x); <subset>/ folders with a split"
    kinds = frozenset({"area", "line", "points", "keypoints", "tag"})

    def export(self, frames: Iterable[ExportFrame], writer, ctx: ExportContext) -> None:
        for frame in frames:
            folder = f"{frame.split}/" if frame.split else ""
            document = labelme_document(frame, ctx)
            writer.write(f"{folder}{frame.stem}.json", json.dumps(document, ensure_ascii=False).encode())
            if ctx.include_images:
                writer.write(f"{folder}{frame.image_name}", frame.image_bytes())
            ctx.on_frame(frame)
