"""The one geometry module: coordinates, polygons ⇄ masks, RLE, areas, track interpolation.

Every exporter, importer, the ML code and the API call these functions; nothing else
rasterises or converts.

Conventions
-----------
* Pixel coordinates are continuous: origin at the top-left corner of the frame, x to the
  right, y down; pixel (i, j) covers [i, i+1) x [j, j+1) and its centre is (i+0.5, j+0.5).
* Polygons are ``[{"exterior": [[x, y], ...], "holes": [[[x, y], ...], ...]}, ...]``
  (a multipolygon; rings not closed, at least 3 points each).
* Normalized boxes (the video contract) are ``{"x", "y", "w", "h"}`` in 0-1 of the frame.
* **Rasteriser** (the only one we use for every mask we write): a pixel belongs to a
  polygon when OpenCV's ``fillPoly`` (8 fractional bits) covers its centre — pixels whose
  centre lies on the boundary included — and does not lie strictly inside a hole.
  ``mask_to_polygons`` traces boundary pixel centres, so mask → polygons → mask is exact
  for the masks tests generate (single-pixel-wide parts included).
* RLE is COCO's (column-major, pycocotools compressed ``counts`` string).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import cv2
import numpy as np
from pycocotools import mask as coco_mask
from shapely.geometry import MultiPolygon, Polygon
from shapely.validation import make_valid

_SHIFT = 8
_SCALE = 1 << _SHIFT

Point = list[float]
PolygonDict = dict[str, Any]


# --- coordinates ---------------------------------------------------------------------
def normalized_box_to_pixels(box: dict, width: int, height: int) -> tuple[float, float, float, float]:
    """``{"x","y","w","h"}`` in 0-1 → (x, y, w, h) in pixels."""
    return box["x"] * width, box["y"] * height, box["w"] * width, box["h"] * height


def pixel_box_to_normalized(x: float, y: float, w: float, h: float, width: int, height: int) -> dict:
    return {"x": x / width, "y": y / height, "w": w / width, "h": h / height}


def bbox_to_polygon(x: float, y: float, w: float, h: float) -> list[PolygonDict]:
    return [{"exterior": [[x, y], [x + w, y], [x + w, y + h], [x, y + h]], "holes": []}]


def rotated_box_corners(cx: float, cy: float, w: float, h: float, angle_deg: float) -> list[Point]:
    """Corners of a box rotated clockwise by ``angle_deg`` about its centre (y down)."""
    a = math.radians(angle_deg)
    cos, sin = math.cos(a), math.sin(a)
    corners = []
    for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)):
        corners.append([cx + dx * cos - dy * sin, cy + dx * sin + dy * cos])
    return corners


# --- polygons ----------------------------------------------------------------------------
def to_shapely(polygons: list[PolygonDict]) -> MultiPolygon:
    parts = [Polygon(p["exterior"], p.get("holes") or []) for p in polygons]
    return MultiPolygon(parts)


def from_shapely(geometry) -> list[PolygonDict]:
    """Polygons of a (Multi)Polygon/GeometryCollection; other parts (lines, points) dropped."""
    out: list[PolygonDict] = []
    if geometry.is_empty:
        return out
    if geometry.geom_type == "Polygon":
        geoms = [geometry]
    elif hasattr(geometry, "geoms"):
        geoms = [g for g in geometry.geoms]
    else:
        geoms = []
    for geom in geoms:
        if geom.geom_type == "Polygon":
            if geom.area <= 0:
                continue
            out.append(
                {
                    "exterior": [list(c) for c in list(geom.exterior.coords)[:-1]],
                    "holes": [[list(c) for c in list(r.coords)[:-1]] for r in geom.interiors],
                }
            )
        elif hasattr(geom, "geoms"):
            out.extend(from_shapely(geom))
    return out


def repair_polygons(polygons: list[PolygonDict]) -> list[PolygonDict]:
    """Make self-intersecting or overlapping rings valid (shapely ``make_valid``)."""
    return from_shapely(make_valid(to_shapely(polygons)))


def polygons_area(polygons: list[PolygonDict]) -> float:
    return float(to_shapely(polygons).area)


def polygons_bbox(polygons: Iterable[PolygonDict]) -> tuple[float, float, float, float]:
    xs: list[float] = []
    ys: list[float] = []
    for p in polygons:
        for x, y in p["exterior"]:
            xs.append(x)
            ys.append(y)
    if not xs:
        return 0.0, 0.0, 0.0, 0.0
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)


def _ring_to_cv(ring: list[Point]) -> np.ndarray:
    # Continuous coordinate c ↔ pixel-centre index c - 0.5, in fixed point.
    pts = (np.asarray(ring, dtype=np.float64) - 0.5) * _SCALE
    return np.round(pts).astype(np.int32).reshape(-1, 1, 2)


def polygons_to_mask(polygons: list[PolygonDict], height: int, width: int) -> np.ndarray:
    """Rasterise polygons (holes kept) into a ``uint8`` 0/1 mask of ``height`` x ``width``."""
    mask = np.zeros((height, width), dtype=np.uint8)
    draw_polygons(mask, polygons, 1)
    return mask


def draw_polygons(canvas: np.ndarray, polygons: list[PolygonDict], value) -> None:
    """Paint polygons onto ``canvas`` (2-D, or 3-D with a colour tuple) with the shared rasteriser."""
    for polygon in polygons:
        exterior = _ring_to_cv(polygon["exterior"])
        if len(exterior) < 3:
            continue
        holes = [_ring_to_cv(h) for h in polygon.get("holes") or [] if len(h) >= 3]
        if not holes:
            cv2.fillPoly(canvas, [exterior], value, lineType=cv2.LINE_8, shift=_SHIFT)
            continue
        shape = np.zeros(canvas.shape[:2], dtype=np.uint8)
        cv2.fillPoly(shape, [exterior], 1, lineType=cv2.LINE_8, shift=_SHIFT)
        inside_holes = np.zeros_like(shape)
        cv2.fillPoly(inside_holes, holes, 1, lineType=cv2.LINE_8, shift=_SHIFT)
        # A hole's boundary pixels stay in the shape: holes remove only their strict inside.
        cv2.polylines(inside_holes, holes, True, 0, lineType=cv2.LINE_8, shift=_SHIFT)
        canvas[(shape == 1) & (inside_holes == 0)] = value


def mask_to_polygons(mask: np.ndarray, *, min_area: float = 0.0) -> list[PolygonDict]:
    """Trace a binary mask into polygons with holes (boundary pixel centres).

    ``min_area`` drops specks (in pixels, by traced polygon area).
    """
    binary = (np.asarray(mask) > 0).astype(np.uint8)
    if not binary.any():
        return []
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    hierarchy = hierarchy[0]
    polygons: list[PolygonDict] = []
    for index, contour in enumerate(contours):
        if hierarchy[index][3] != -1:  # a hole: handled with its parent
            continue
        exterior = _contour_to_ring(contour)
        holes = []
        child = hierarchy[index][2]
        while child != -1:
            ring = _contour_to_ring(contours[child])
            if len(ring) >= 3:
                holes.append(ring)
            child = hierarchy[child][0]
        if len(exterior) < 3:
            exterior = _degenerate_ring(contour)
        if min_area and _ring_area(exterior) < min_area:
            continue
        polygons.append({"exterior": exterior, "holes": holes})
    return polygons


def _contour_to_ring(contour: np.ndarray) -> list[Point]:
    return [[float(x) + 0.5, float(y) + 0.5] for x, y in contour.reshape(-1, 2)]


def _degenerate_ring(contour: np.ndarray) -> list[Point]:
    """A one- or two-pixel contour: the polygon around those pixels' centres, slightly widened."""
    pts = contour.reshape(-1, 2).astype(float)
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    e = 0.25
    return [
        [x0 + 0.5 - e, y0 + 0.5 - e],
        [x1 + 0.5 + e, y0 + 0.5 - e],
        [x1 + 0.5 + e, y1 + 0.5 + e],
        [x0 + 0.5 - e, y1 + 0.5 + e],
    ]


def _ring_area(ring: list[Point]) -> float:
    if len(ring) < 3:
        return 0.0
    arr = np.asarray(ring)
    x, y = arr[:, 0], arr[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


# --- RLE (COCO) ----------------------------------------------------------------------------
def rle_encode(mask: np.ndarray) -> dict:
    """COCO compressed RLE ``{"size": [h, w], "counts": str}`` of a binary mask."""
    rle = coco_mask.encode(np.asfortranarray((np.asarray(mask) > 0).astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def rle_decode(rle: dict) -> np.ndarray:
    """Binary ``uint8`` mask from COCO RLE (compressed string or uncompressed list counts)."""
    h, w = (int(v) for v in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, list):
        compressed = coco_mask.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    else:
        compressed = {"size": [h, w], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    return coco_mask.decode(compressed).astype(np.uint8)


def rle_area(rle: dict) -> int:
    return int(coco_mask.area(_compressed(rle)))


def rle_bbox(rle: dict) -> tuple[float, float, float, float]:
    x, y, w, h = coco_mask.toBbox(_compressed(rle)).tolist()
    return x, y, w, h


def _compressed(rle: dict) -> dict:
    h, w = (int(v) for v in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, list):
        return coco_mask.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    return {"size": [h, w], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


def mask_bbox(mask: np.ndarray) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return 0.0, 0.0, 0.0, 0.0
    return float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)


# --- tracks --------------------------------------------------------------------------------
def interpolate_box(a: dict, b: dict, t: float) -> dict:
    """Linear interpolation between normalized boxes ``a`` (t=0) and ``b`` (t=1)."""
    return {k: a[k] + (b[k] - a[k]) * t for k in ("x", "y", "w", "h")}


def track_frames(keyframes: list[dict], *, frame_count: int | None = None) -> Iterator[dict]:
    """Every visible frame of a ``video_track`` (keyframes sorted by ``frame_index``).

    A track is visible from its first present keyframe to its last keyframe; boxes between
    two present keyframes are interpolated linearly; an ``absent`` keyframe hides the object
    until the next present keyframe. Yields ``{"frame_index", "bbox", "occluded",
    "keyframe": bool, "source"}``; interpolated frames take ``occluded`` from the keyframe
    before them. Frames at or beyond ``frame_count`` are not yielded.
    """
    for current, nxt in zip(keyframes, [*keyframes[1:], None], strict=True):
        if current.get("absent"):
            continue
        start = current["frame_index"]
        if frame_count is not None and start >= frame_count:
            return
        yield {
            "frame_index": start,
            "bbox": dict(current["bbox"]),
            "occluded": bool(current.get("occluded")),
            "keyframe": True,
            "source": current.get("source", "manual"),
        }
        if nxt is None or nxt.get("absent"):
            continue
        end = nxt["frame_index"]
        span = end - start
        for frame in range(start + 1, end):
            if frame_count is not None and frame >= frame_count:
                return
            yield {
                "frame_index": frame,
                "bbox": interpolate_box(current["bbox"], nxt["bbox"], (frame - start) / span),
                "occluded": bool(current.get("occluded")),
                "keyframe": False,
                "source": "interpolated",
            }


def box_at(keyframes: list[dict], frame_index: int) -> dict | None:
    """The track's box at one frame (None where the object is not visible)."""
    for item in track_frames(keyframes):
        if item["frame_index"] == frame_index:
            return item
        if item["frame_index"] > frame_index:
            return None
    return None
