"""What every import plug-in produces, and the checks every shape passes first.

An importer reads an extracted upload (a folder) and yields :class:`ParsedFile` — one
annotation file, naming the image it annotates, with its :class:`ParsedShape` list in our
shape schema. Nothing is written by importers: the import service matches each file to a
task frame, checks every shape (:func:`check_shape` — numbers finite and within sane
bounds *before* any raster library sees them), maps classes, then writes accepted files
through ``annotations.services.saving.write_annotations`` (source ``imported``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from django.conf import settings

from annotations import geometry
from exports.formats.base import Exporter, Option

# A coordinate further than this many frame sizes outside the frame is refused as insane
# (a vertex at 1e9 makes rasterisers crawl; NaN makes pycocotools allocate > 24 GB).
SANE_MARGIN = 4.0
MAX_VERTICES = 100_000


def limit(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def max_annotation_file_bytes() -> int:
    """Cap on one annotation file (COCO JSON is streamed, the others are read whole)."""
    return limit("EXPORTS_IMPORT_MAX_FILE_BYTES", 512 * 1024**2)


def max_small_file_bytes() -> int:
    """Cap on a per-image file (labelme JSON, VOC XML, YOLO txt, mask PNG)."""
    return limit("EXPORTS_IMPORT_MAX_SMALL_FILE_BYTES", 64 * 1024**2)


@dataclass
class ParsedShape:
    type: str  # bbox, rotated_bbox, polygon, mask, polyline, points, keypoints
    geometry: dict  # our shape schema (pixels, or normalized 0-1 when the file says so)
    class_name: str | None = None
    maskid: int | None = None  # GT masks: the class is found by maskid
    attributes: dict = field(default_factory=dict)
    object_id: str = ""
    where: str = ""  # "annotation 12", "line 3": how the user finds it in the file
    problems: list[str] = field(default_factory=list)  # refusal reasons
    notes: list[str] = field(default_factory=list)  # adaptations


@dataclass
class ParsedFile:
    name: str  # path of the annotation file inside the upload
    image_name: str  # the image it annotates (matched to Asset.original_name / frame stems)
    shapes: list[ParsedShape] = field(default_factory=list)
    width: int | None = None  # size the file declares (coordinates are scaled if it differs)
    height: int | None = None
    normalized: bool = False  # coordinates in 0-1 of the frame (YOLO)
    refused: str | None = None
    notes: list[str] = field(default_factory=list)
    task_id: int | None = None  # set when the file names its target itself
    frame_index: int | None = None
    mask: Any = None  # GT masks: the decoded maskid image, traced after matching


class Importer:
    """Base of every import format: ``name``, ``title``, ``OPTIONS`` and :meth:`parse`."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    OPTIONS: ClassVar[dict[str, Option]] = {}

    def __init__(self, options: dict[str, Any] | None = None):
        self.options = self.clean_options(options or {})

    clean_options = classmethod(Exporter.clean_options.__func__)  # same option rules as exporters

    def parse(self, root: Path) -> Iterator[ParsedFile]:  # pragma: no cover - interface
        raise NotImplementedError


def files_under(root: Path, *suffixes: str) -> list[Path]:
    """Regular files under ``root`` with one of ``suffixes`` (symlinks never followed)."""
    wanted = {s.lower() for s in suffixes}
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and p.suffix.lower() in wanted)


def read_small(path: Path) -> bytes | str:
    """The file's bytes, or a refusal reason (str) when it is over the per-file cap."""
    size = path.stat().st_size
    cap = max_small_file_bytes()
    if size > cap:
        return f"the file is {size / 1024**2:.1f} MB; at most {cap / 1024**2:.0f} MB per file"
    return path.read_bytes()


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _coords(shape: ParsedShape) -> list[tuple[float, float]] | str:
    """Every (x, y) of the shape's geometry, or why they are unreadable."""
    g = shape.geometry
    out: list[tuple[float, float]] = []

    def add_ring(ring, what: str) -> str | None:
        if not isinstance(ring, list):
            return f"{what} is not a list of points"
        for point in ring:
            if isinstance(point, dict):
                xy = (point.get("x"), point.get("y"))
            elif isinstance(point, (list, tuple)) and len(point) >= 2:
                xy = (point[0], point[1])
            else:
                return f"{what} has a point that is not [x, y]"
            if not (_finite(xy[0]) and _finite(xy[1])):
                return f"{what} has a coordinate that is not a finite number ({xy[0]!r}, {xy[1]!r})"
            out.append((float(xy[0]), float(xy[1])))
        return None

    if shape.type == "bbox":
        values = [g.get("x"), g.get("y"), g.get("width"), g.get("height")]
        if not all(_finite(v) for v in values):
            return f"box values must be finite numbers, got {values}"
        x, y, w, h = (float(v) for v in values)
        if w <= 0 or h <= 0:
            return f"degenerate box ({w:g} x {h:g})"
        return [(x, y), (x + w, y + h)]
    if shape.type == "rotated_bbox":
        values = [g.get("cx"), g.get("cy"), g.get("width"), g.get("height"), g.get("angle", 0)]
        if not all(_finite(v) for v in values):
            return f"rotated box values must be finite numbers, got {values}"
        return [(float(values[0]), float(values[1]))]
    if shape.type in ("polygon", "mask") and "polygons" in g:
        for i, polygon in enumerate(g["polygons"]):
            problem = add_ring(polygon.get("exterior"), f"polygon {i}")
            if problem:
                return problem
            if len(polygon.get("exterior") or []) < 3:
                return f"polygon {i} has {len(polygon.get('exterior') or [])} point(s); a polygon needs at least 3"
            for j, hole in enumerate(polygon.get("holes") or []):
                problem = add_ring(hole, f"hole {j} of polygon {i}")
                if problem:
                    return problem
        return out
    if shape.type == "mask" and "rle" in g:
        problem = geometry.rle_problem(g["rle"])
        return f"invalid RLE: {problem}" if problem else []
    if "points" in g:
        problem = add_ring(g["points"], "points")
        return problem or out
    return f"no geometry for a {shape.type}"


def check_shape(shape: ParsedShape, width: int, height: int) -> None:
    """Refuse (``shape.problems``) unreadable, non-finite, degenerate or insane coordinates;
    note (``shape.notes``) shapes that reach past the frame (they are clipped on save)."""
    coords = _coords(shape)
    if isinstance(coords, str):
        shape.problems.append(coords)
        return
    if len(coords) > MAX_VERTICES:
        shape.problems.append(f"{len(coords)} vertices; at most {MAX_VERTICES}")
        return
    if shape.type in ("polygon", "mask") and "rle" in shape.geometry:
        size = list(shape.geometry["rle"].get("size") or [])
        if size != [height, width]:
            shape.problems.append(f"RLE size {size} is not the frame's [height, width] = [{height}, {width}]")
        return
    lo_x, hi_x = -SANE_MARGIN * width, (1 + SANE_MARGIN) * width
    lo_y, hi_y = -SANE_MARGIN * height, (1 + SANE_MARGIN) * height
    for x, y in coords:
        if not (lo_x <= x <= hi_x and lo_y <= y <= hi_y):
            shape.problems.append(f"coordinate ({x:g}, {y:g}) is far outside the {width}x{height} frame")
            return
    if any(x < 0 or y < 0 or x > width or y > height for x, y in coords):
        if shape.type in ("polyline", "points", "keypoints"):
            shape.problems.append(f"a point lies outside the {width}x{height} frame")
        else:
            shape.notes.append("reaches past the frame: clipped to it")


def scale_geometry(shape: ParsedShape, sx: float, sy: float) -> None:
    """Scale pixel coordinates (a file declaring another image size, or normalized 0-1)."""
    g = shape.geometry

    def ring(points):
        out = []
        for p in points:
            if isinstance(p, dict):
                out.append({**p, "x": p["x"] * sx, "y": p["y"] * sy})
            else:
                out.append([p[0] * sx, p[1] * sy, *p[2:]])
        return out

    if shape.type == "bbox":
        g.update(x=g["x"] * sx, y=g["y"] * sy, width=g["width"] * sx, height=g["height"] * sy)
    elif shape.type == "rotated_bbox":
        g.update(cx=g["cx"] * sx, cy=g["cy"] * sy, width=g["width"] * sx, height=g["height"] * sy)
    elif "polygons" in g:
        g["polygons"] = [
            {"exterior": ring(p["exterior"]), "holes": [ring(h) for h in p.get("holes") or []]} for p in g["polygons"]
        ]
    elif "points" in g:
        g["points"] = ring(g["points"])


MAX_MASK_PIXELS = 200_000_000


def png_header(data: bytes) -> tuple[int, int, int, int] | None:
    """(width, height, bit depth, colour type) from a PNG's IHDR, without decoding it."""
    if len(data) < 29 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    return width, height, data[24], data[25]
