"""COCO instances: ``annotations/instances_<subset>.json`` beside ``images/<subset>/``.

The layout Datumaro's ``coco_instances`` importer and pycocotools expect. Without a split
the subset is ``default``. Polygons are written as polygons; a shape with holes (or a mask
stored as RLE) is written as compressed RLE drawn by the shared rasteriser — polygons
cannot carry holes in COCO — with ``iscrowd`` 0 (it is one object, not a crowd region);
``iscrowd`` 1 only where the annotation's attributes say so. ``area`` is the polygon's
geometric area (RLE: its pixel count); ``bbox`` is ``[x, y, w, h]`` in pixels. Boxes carry
an empty ``segmentation``. Keypoint classes get ``keypoints`` and a 1-based ``skeleton``.
Lines and points have no COCO instance form and are reported as skipped.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime

from annotations import geometry
from exports.formats.base import ExportContext, Exporter, ExportFrame, ExportShape, Option, flat

PIXEL_CONVENTION = (
    "pixel coordinates, origin top-left, x right, y down; pixel (i, j) covers [i, i+1) x [j, j+1); "
    "RLE masks drawn by OpenCV fillPoly on pixel centres"
)


def _dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def coco_categories(ctx: ExportContext) -> tuple[list[dict], dict[int, int]]:
    categories, ids = [], {}
    for number, label in enumerate(ctx.labels, start=1):
        ids[label.id] = number
        category = {
            "id": number,
            "name": label.name,
            "supercategory": label.category or "",
            "color": label.color,
            "maskid": label.maskid,
            "z_order": label.z_order,
        }
        if label.keypoint_names:
            category["keypoints"] = label.keypoint_names
            category["skeleton"] = [[a + 1, b + 1] for a, b in label.keypoint_edges]
        categories.append(category)
    return categories, ids


def coco_annotation(
    shape: ExportShape, frame: ExportFrame, *, ann_id: int, image_id: int, category_id: int, rle_all: bool
):
    """One COCO annotation dict, or None (a kind COCO instances cannot carry)."""
    attributes = dict(shape.attributes)
    iscrowd = 1 if attributes.pop("iscrowd", False) else 0
    if shape.occluded:
        attributes["occluded"] = True
    if shape.track_id:
        attributes["track_id"] = shape.track_id
    x, y, w, h = shape.bbox
    ann = {"id": ann_id, "image_id": image_id, "category_id": category_id, "iscrowd": iscrowd}
    if shape.kind == "area":
        if shape.is_box and not rle_all:
            ann["segmentation"] = []
            area = w * h
        elif shape.rle is not None or shape.has_holes or rle_all:
            rle = shape.rle or geometry.rle_encode(shape.mask(frame.height, frame.width))
            ann["segmentation"] = {"size": rle["size"], "counts": rle["counts"]}
            area = geometry.rle_area(rle)
            x, y, w, h = geometry.rle_bbox(rle)
        else:
            ann["segmentation"] = [flat(p["exterior"]) for p in shape.polygons]
            area = geometry.valid_polygons_area(shape.polygons)
    elif shape.kind == "keypoints":
        points = shape.points or []
        ann["segmentation"] = []
        ann["keypoints"] = [round(v, 2) if i % 3 != 2 else int(v) for p in points for i, v in enumerate(p, start=0)]
        ann["num_keypoints"] = sum(1 for p in points if p[2] > 0)
        area = w * h
    else:
        return None
    ann["area"] = round(float(area), 2)
    ann["bbox"] = [round(float(x), 2), round(float(y), 2), round(float(w), 2), round(float(h), 2)]
    if shape.score is not None:
        ann["score"] = shape.score
    if attributes:
        ann["attributes"] = attributes
    return ann


class CocoStream:
    """Images and annotations of one subset, streamed to temporary files until the end."""

    def __init__(self) -> None:
        self.images = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.annotations = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.image_count = 0
        self.annotation_count = 0

    def add_image(self, image: dict) -> None:
        self.images.write((b"," if self.image_count else b"") + _dumps(image).encode())
        self.image_count += 1

    def add_annotation(self, ann: dict) -> None:
        self.annotations.write((b"," if self.annotation_count else b"") + _dumps(ann).encode())
        self.annotation_count += 1

    def write_json(self, handle, header: dict) -> None:
        head = _dumps(header)[:-1]  # open object
        handle.write(f'{head},"images":['.encode())
        _copy(self.images, handle)
        handle.write(b'],"annotations":[')
        _copy(self.annotations, handle)
        handle.write(b"]}")

    def close(self) -> None:
        self.images.close()
        self.annotations.close()


def _copy(source, target, size: int = 1 << 20) -> None:
    source.seek(0)
    while chunk := source.read(size):
        target.write(chunk)


class CocoInstances(Exporter):
    name = "coco"
    title = "COCO instances"
    description = "annotations/instances_<subset>.json + images/<subset>/ (pycocotools, Datumaro coco_instances)"
    kinds = frozenset({"area", "keypoints"})
    OPTIONS = {
        "segmentation": Option(
            str, "auto", "auto: polygons, RLE for shapes with holes; rle: every area shape as RLE", ("auto", "rle")
        ),
    }

    def export(self, frames: Iterable[ExportFrame], writer, ctx: ExportContext) -> None:
        categories, category_ids = coco_categories(ctx)
        subsets: dict[str, CocoStream] = {name: CocoStream() for name in ctx.splits}
        rle_all = self.options["segmentation"] == "rle"
        image_id = ann_id = 0
        try:
            for frame in frames:
                subset = ctx.split_of(frame)
                part = subsets.get(subset) or subsets.setdefault(subset, CocoStream())
                image_id += 1
                part.add_image(
                    {
                        "id": image_id,
                        "file_name": frame.image_name,
                        "width": frame.width,
                        "height": frame.height,
                        "task_id": frame.task_id,
                        "frame_index": frame.index,
                        "source_name": frame.source_name,
                    }
                )
                for shape in frame.shapes:
                    if shape.label is None:
                        ctx.skip("no label")
                        continue
                    ann = coco_annotation(
                        shape,
                        frame,
                        ann_id=ann_id + 1,
                        image_id=image_id,
                        category_id=category_ids[shape.label.id],
                        rle_all=rle_all,
                    )
                    if ann is None:
                        ctx.skip(f"{shape.type} has no COCO instance form")
                        continue
                    ann_id += 1
                    part.add_annotation(ann)
                ctx.annotation_count = ann_id
                if ctx.include_images:
                    writer.write(f"images/{subset}/{frame.image_name}", frame.image_bytes())
                ctx.on_frame(frame)
            header = {
                "info": {
                    "description": f"{ctx.project_name} — exported by Annotator",
                    "version": "1.0",
                    "year": datetime.now(UTC).year,
                    "date_created": datetime.now(UTC).isoformat(timespec="seconds"),
                    "pixel_convention": PIXEL_CONVENTION,
                },
                "licenses": [],
                "categories": categories,
            }
            for subset, part in subsets.items():
                with writer.open(f"annotations/instances_{subset}.json") as handle:
                    part.write_json(handle, header)
            if not subsets:
                with writer.open("annotations/instances_default.json") as handle:
                    CocoStream().write_json(handle, header)
        finally:
            for part in subsets.values():
                part.close()
