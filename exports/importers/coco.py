"""COCO instances in: every ``*.json`` with ``images`` / ``annotations`` / ``categories``.

The JSON is streamed (ijson), never loaded whole; annotations are grouped per image in a
temporary SQLite file, so memory stays bounded for large files (capped by
``EXPORTS_IMPORT_MAX_FILE_BYTES``). A truncated or malformed file is refused as a whole
before anything is written. Polygon segmentation → ``polygon`` (each COCO part a polygon);
RLE (compressed or not) → ``mask`` RLE; an empty segmentation → ``bbox``; ``keypoints`` →
``keypoints`` in the category's keypoint order. ``iscrowd`` and ``attributes`` are kept as
attributes where the label defines them.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import ijson

from exports.importers.base import Importer, ParsedFile, ParsedShape, files_under, max_annotation_file_bytes


class CocoImporter(Importer):
    name = "coco"
    title = "COCO instances"
    description = "instances JSON (polygons, RLE, boxes, keypoints); images matched by file_name"

    def parse(self, root: Path) -> Iterator[ParsedFile]:
        for path in files_under(root, ".json"):
            rel = str(path.relative_to(root))
            size = path.stat().st_size
            if size > max_annotation_file_bytes():
                yield ParsedFile(
                    rel,
                    rel,
                    refused=f"the file is {size / 1024**2:.0f} MB; the cap is "
                    f"{max_annotation_file_bytes() / 1024**2:.0f} MB",
                )
                continue
            if not _looks_like_coco(path):
                continue
            yield from self._parse_file(path, rel)

    def _parse_file(self, path: Path, rel: str) -> Iterator[ParsedFile]:
        with tempfile.TemporaryDirectory() as folder:
            db = sqlite3.connect(str(Path(folder) / "coco.sqlite"))
            try:
                db.execute("CREATE TABLE images (id TEXT PRIMARY KEY, file_name TEXT, width INT, height INT)")
                db.execute("CREATE TABLE anns (image_id TEXT, n INT, body TEXT)")
                categories: dict[str, dict] = {}
                try:
                    for prefix, item in _items(path):
                        if prefix == "categories.item":
                            categories[str(item.get("id"))] = item
                        elif prefix == "images.item":
                            row = (str(item.get("id")), str(item.get("file_name") or ""))
                            db.execute(
                                "INSERT OR REPLACE INTO images VALUES (?, ?, ?, ?)",
                                (*row, _int(item.get("width")), _int(item.get("height"))),
                            )
                        elif prefix == "annotations.item":
                            body = json.dumps(item, default=float)
                            db.execute(
                                "INSERT INTO anns VALUES (?, ?, ?)",
                                (str(item.get("image_id")), _int(item.get("id")) or 0, body),
                            )
                except (ijson.JSONError, ValueError, UnicodeDecodeError) as exc:
                    yield ParsedFile(
                        rel, rel, refused=f"not valid COCO JSON (truncated or malformed): {str(exc).splitlines()[0]}"
                    )
                    return
                db.execute("CREATE INDEX anns_image ON anns (image_id, n)")
                if not db.execute("SELECT COUNT(*) FROM images").fetchone()[0]:
                    yield ParsedFile(
                        rel,
                        rel,
                        refused='the file lists no images: COCO needs "images": [{"id", "file_name", "width", '
                        '"height"}, ...] (a list of objects) with "annotations" naming them by image_id',
                    )
                    return
                images = db.execute("SELECT id, file_name, width, height FROM images ORDER BY rowid")
                for image_id, file_name, width, height in images:
                    parsed = ParsedFile(rel, file_name, width=width, height=height)
                    rows = db.cursor().execute("SELECT body FROM anns WHERE image_id = ? ORDER BY n", (image_id,))
                    for (body,) in rows:
                        parsed.shapes.append(coco_shape(json.loads(body), categories))
                    if not file_name:
                        parsed.refused = f"image {image_id} has no file_name"
                    yield parsed
                orphans = db.execute(
                    "SELECT COUNT(*) FROM anns WHERE image_id NOT IN (SELECT id FROM images)"
                ).fetchone()[0]
                if orphans:
                    yield ParsedFile(
                        rel, rel, refused=f"{orphans} annotation(s) name an image_id that the file does not list"
                    )
            finally:
                db.close()


def _looks_like_coco(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    return b'"annotations"' in head or b'"images"' in head or b'"categories"' in head


def _items(path: Path):
    """(prefix, object) for each element of the three top-level arrays, streamed (one pass
    per array: categories first, so annotations can name them)."""
    for prefix in ("categories.item", "images.item", "annotations.item"):
        with open(path, "rb") as handle:
            for item in ijson.items(handle, prefix, use_float=True):
                if isinstance(item, dict):
                    yield prefix, item


def _int(value) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value else None


def coco_shape(ann: dict, categories: dict[str, dict]) -> ParsedShape:
    where = f"annotation {ann.get('id')}"
    category = categories.get(str(ann.get("category_id")))
    shape = ParsedShape(type="polygon", geometry={}, where=where)
    if category is None:
        shape.problems.append(f"category_id {ann.get('category_id')!r} is not in categories")
        return shape
    shape.class_name = str(category.get("name") or "")
    attributes = dict(ann.get("attributes") or {}) if isinstance(ann.get("attributes"), dict) else {}
    shape.object_id = str(attributes.pop("track_id", "") or "")[:64]
    attributes.pop("occluded", None)
    if ann.get("iscrowd"):
        attributes["iscrowd"] = True
    shape.attributes = attributes
    segmentation = ann.get("segmentation")
    if ann.get("keypoints"):
        values = ann["keypoints"]
        if not isinstance(values, list) or len(values) % 3:
            shape.problems.append("keypoints must be a flat list of x, y, v triples")
            return shape
        names = list(category.get("keypoints") or [])
        shape.type = "keypoints"
        shape.geometry = {
            "points": [
                {
                    "name": names[i // 3] if i // 3 < len(names) else str(i // 3),
                    "x": values[i],
                    "y": values[i + 1],
                    "visibility": int(values[i + 2]) if isinstance(values[i + 2], (int, float)) else values[i + 2],
                }
                for i in range(0, len(values), 3)
            ]
        }
        return shape
    if isinstance(segmentation, dict):
        shape.type = "mask"
        shape.geometry = {"rle": {"size": segmentation.get("size"), "counts": segmentation.get("counts")}}
        return shape
    if isinstance(segmentation, list) and segmentation:
        polygons = []
        for part in segmentation:
            if not isinstance(part, list) or len(part) % 2:
                shape.problems.append("a polygon must be a flat list of x, y pairs")
                return shape
            polygons.append({"exterior": [[part[i], part[i + 1]] for i in range(0, len(part), 2)], "holes": []})
        shape.geometry = {"polygons": polygons}
        return shape
    bbox = ann.get("bbox")
    if not isinstance(bbox, list) or len(bbox) != 4:
        shape.problems.append("no segmentation and no bbox [x, y, w, h]")
        return shape
    shape.type = "bbox"
    shape.geometry = {"x": bbox[0], "y": bbox[1], "width": bbox[2], "height": bbox[3]}
    return shape
