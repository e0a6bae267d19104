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
* **Rasteriser** (the only one we use for every mask we write, ``draw_polygons``): a pixel
  belongs to a polygon when its **centre** lies inside it (even-odd over the polygon's
  rings, so holes are excluded); a centre exactly on an edge counts for left/top edges and
  not for right/bottom ones, like the half-open pixels themselves. So the box
  (x, y, w, h) = (2, 2, 18, 12) paints exactly 18 x 12 pixels. Exact scanlines computed
  here; OpenCV only paints the resulting horizontal runs.
* **Tracer** (``mask_to_polygons``): the outline of a mask's pixel squares, pulled a
  quarter pixel inwards — valid for shapely (one-pixel-wide parts keep an area, diagonal
  neighbours don't touch) and mask → polygons → mask is exact for every mask.
* RLE is COCO's (column-major, pycocotools compressed ``counts`` string).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import cv2
import numpy as np
from pycocotools import mask as coco_mask
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.validation import make_valid

Point = list[float]
PolygonDict = dict[str, Any]


# --- coordinates ---------------------------------------------------------------------
def normalized_box_to_pixels(box: dict, width: int, height: int) -> tuple[float, float, float, float]:
    """``{"x","y","w","h"}`` in 0-1 → (x, y, w, h) in pixels."""
    return box["x"] * width, box["y"] * height, box["w"] * width, box["h"] * height


def pixel_box_to_normalized(x: float, y: float, w: float, h: float, width: int, height: int) -> dict:
    return {"x": x / width, "y": y / height, "w": w / width, "h": h / height}


def percent_to_pixels(value: float, size: int) -> float:
    """A Label Studio-style percentage (0-100) of ``size`` → pixels."""
    return value * size / 100.0


def percent_points_to_pixels(points: Iterable[Iterable[float]], width: int, height: int) -> list[Point]:
    return [[percent_to_pixels(x, width), percent_to_pixels(y, height)] for x, y in points]


def corner_rotated_box_to_centre(
    x: float, y: float, w: float, h: float, rotation_deg: float
) -> tuple[float, float, float, float, float]:
    """A box given by its top-left corner and rotated clockwise about that corner (Label Studio's
    ``rotation``) → ``(cx, cy, w, h, angle)`` rotated about its centre (our rotated_bbox)."""
    a = math.radians(rotation_deg)
    cos, sin = math.cos(a), math.sin(a)
    cx = x + (w / 2) * cos - (h / 2) * sin
    cy = y + (w / 2) * sin + (h / 2) * cos
    return cx, cy, w, h, rotation_deg % 360.0


def clip_box(x: float, y: float, w: float, h: float, width: float, height: float):
    """``(x, y, w, h)`` clipped to a ``width`` x ``height`` frame; None when nothing is left."""
    x0, y0 = max(x, 0.0), max(y, 0.0)
    x1, y1 = min(x + w, float(width)), min(y + h, float(height))
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1 - x0, y1 - y0


def clip_polygons(polygons: list[PolygonDict], width: float, height: float) -> list[PolygonDict]:
    """Polygons cut to the frame (``[0, width] x [0, height]``); empty when none of it is inside."""
    frame = box(0.0, 0.0, float(width), float(height))
    shape = to_shapely(polygons)
    if frame.contains(shape):
        return polygons
    return from_shapely(shape.intersection(frame))


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


def polygons_to_mask(polygons: list[PolygonDict], height: int, width: int) -> np.ndarray:
    """Rasterise polygons (holes kept) into a ``uint8`` 0/1 mask of ``height`` x ``width``."""
    mask = np.zeros((height, width), dtype=np.uint8)
    draw_polygons(mask, polygons, 1)
    return mask


def draw_polygons(canvas: np.ndarray, polygons: list[PolygonDict], value) -> None:
    """Paint polygons onto ``canvas`` (2-D, or 3-D with a colour tuple) with the shared
    rasteriser: every pixel whose centre is inside (holes excluded) gets ``value``."""
    height, width = canvas.shape[:2]
    for polygon in polygons:
        spans = polygon_spans([polygon["exterior"], *(polygon.get("holes") or [])], height, width)
        if spans is None:
            continue
        rows, first, end = spans
        segments = np.empty((len(rows), 2, 2), dtype=np.int32)
        segments[:, 0, 0] = first
        segments[:, 1, 0] = end - 1
        segments[:, 0, 1] = rows
        segments[:, 1, 1] = rows
        # Horizontal one-pixel-high runs with integer ends: OpenCV paints exactly those pixels.
        cv2.polylines(canvas, segments, False, value, 1, cv2.LINE_8)


def polygon_spans(rings: list[list[Point]], height: int, width: int):
    """Pixel runs inside ``rings`` (even-odd): ``(rows, first_column, end_column)`` arrays,
    ``end`` exclusive, clipped to the frame; None when no pixel centre is inside.

    A scanline fill evaluated at each row's centre line y = j + 0.5: an edge crosses it when
    ``min(y0, y1) <= y < max(y0, y1)`` (half-open, so a vertex is counted once), and pixel
    i of a run [x_a, x_b) is inside when ``x_a <= i + 0.5 < x_b``.
    """
    x0s, y0s, x1s, y1s = [], [], [], []
    for ring in rings:
        points = np.asarray(ring, dtype=np.float64).reshape(-1, 2)
        if len(points) < 3:
            continue
        following = np.roll(points, -1, axis=0)
        x0s.append(points[:, 0])
        y0s.append(points[:, 1])
        x1s.append(following[:, 0])
        y1s.append(following[:, 1])
    if not x0s:
        return None
    x0, y0, x1, y1 = (np.concatenate(a) for a in (x0s, y0s, x1s, y1s))
    sloped = y0 != y1  # horizontal edges never cross a centre line
    x0, y0, x1, y1 = x0[sloped], y0[sloped], x1[sloped], y1[sloped]
    if len(x0) == 0:
        return None
    low, high = np.minimum(y0, y1), np.maximum(y0, y1)
    first_row = np.maximum(np.ceil(low - 0.5), 0).astype(np.int64)
    last_row = np.minimum(np.ceil(high - 0.5) - 1, height - 1).astype(np.int64)
    counts = np.maximum(last_row - first_row + 1, 0)
    total = int(counts.sum())
    if total == 0:
        return None
    edge = np.repeat(np.arange(len(counts)), counts)
    offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    rows = first_row[edge] + offset
    x_cross = x0[edge] + (rows + 0.5 - y0[edge]) * (x1[edge] - x0[edge]) / (y1[edge] - y0[edge])
    order = np.lexsort((x_cross, rows))
    rows, x_cross = rows[order], x_cross[order]
    # Each row has an even number of crossings; consecutive pairs bound the inside runs.
    run_rows, starts, stops = rows[0::2], x_cross[0::2], x_cross[1::2]
    first = np.clip(np.ceil(starts - 0.5), 0, width).astype(np.int64)
    end = np.clip(np.ceil(stops - 0.5), 0, width).astype(np.int64)
    keep = end > first
    if not keep.any():
        return None
    return run_rows[keep], first[keep], end[keep]


def mask_to_polygons(mask: np.ndarray, *, min_area: float = 0.0) -> list[PolygonDict]:
    """Trace a binary mask into valid polygons with holes that keep every pixel.

    The outline of the mask's pixel squares pulled a quarter pixel inwards: rings run between
    the boundary pixel centres and the pixel edges, so every part (one pixel wide included)
    has an area, and :func:`draw_polygons` paints exactly the mask again. Fast path: OpenCV
    contours of the mask upsampled 2x (boundary centres of the 2x grid are exactly the
    quarter-inset outline); where that outline pinches (diagonal neighbours) and shapely
    would call it invalid, the union of the pixel squares is inset instead (slower, valid).
    ``min_area`` drops specks (polygon area in pixels).
    """
    binary = (np.asarray(mask) > 0).astype(np.uint8)
    if not binary.any():
        return []
    polygons = _trace_upsampled(binary)
    if not to_shapely(polygons).is_valid:
        polygons = _trace_pixel_union(binary)
    if min_area:
        polygons = [p for p in polygons if valid_polygons_area([p]) >= min_area]
    return polygons


def _trace_upsampled(binary: np.ndarray) -> list[PolygonDict]:
    height, width = binary.shape
    doubled = cv2.resize(binary, (width * 2, height * 2), interpolation=cv2.INTER_NEAREST)
    contours, hierarchy = cv2.findContours(doubled, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    hierarchy = hierarchy[0]

    def ring(contour: np.ndarray) -> list[Point]:
        # Centre of 2x pixel u is (u + 0.5) / 2 in frame coordinates.
        return ((contour.reshape(-1, 2) + 0.5) / 2).tolist()

    polygons: list[PolygonDict] = []
    for index, contour in enumerate(contours):
        if hierarchy[index][3] != -1:  # a hole: taken with its parent
            continue
        holes = []
        child = hierarchy[index][2]
        while child != -1:
            holes.append(ring(contours[child]))
            child = hierarchy[child][0]
        polygons.append({"exterior": ring(contour), "holes": holes})
    return polygons


def _trace_pixel_union(binary: np.ndarray) -> list[PolygonDict]:
    import shapely

    # Horizontal runs of each row become boxes on the pixel grid; their union is the region.
    edges = np.diff(np.pad(binary.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    starts = np.argwhere(edges == 1)
    ends = np.argwhere(edges == -1)
    boxes = shapely.box(starts[:, 1], starts[:, 0], ends[:, 1], starts[:, 0] + 1)
    region = shapely.union_all(boxes)
    region = shapely.simplify(region.buffer(-0.25, join_style="mitre", mitre_limit=4.0), 0)
    return from_shapely(region)


# --- RLE (COCO) ----------------------------------------------------------------------------
# pycocotools decodes without bounds checks: counts that overrun size*size write past its
# buffer. Every RLE is checked here (in Python) before pycocotools sees it.
MAX_RLE_PIXELS = 1 << 28


def rle_encode(mask: np.ndarray) -> dict:
    """COCO compressed RLE ``{"size": [h, w], "counts": str}`` of a binary mask."""
    rle = coco_mask.encode(np.asfortranarray((np.asarray(mask) > 0).astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def rle_string_to_counts(counts: str) -> list[int]:
    """Run lengths of a COCO compressed ``counts`` string (pycocotools' ``rleFrString``, checked).

    Raises ``ValueError`` for characters outside the alphabet, a truncated number or a
    negative run.
    """
    runs: list[int] = []
    p, n = 0, len(counts)
    while p < n:
        x, k, more = 0, 0, True
        while more:
            if p >= n:
                raise ValueError("counts string ends in the middle of a number")
            c = ord(counts[p]) - 48
            if not 0 <= c < 64 or k > 7:
                raise ValueError(f"invalid character {counts[p]!r} at position {p} of counts")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(runs) > 2:
            x += runs[-2]
        if x < 0:
            raise ValueError(f"run {len(runs)} of counts is negative")
        runs.append(x)
    return runs


def rle_problem(rle: Any) -> str | None:
    """Why ``rle`` is not a decodable COCO RLE (None when it is): size, counts and their sum."""
    if not isinstance(rle, dict) or set(rle) != {"size", "counts"}:
        return 'an RLE is {"size": [height, width], "counts": string or list of run lengths}'
    size = rle["size"]
    if (
        not isinstance(size, (list, tuple))
        or len(size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)
    ):
        return "size must be [height, width], two positive integers"
    total = size[0] * size[1]
    if total > MAX_RLE_PIXELS:
        return f"size {size[0]}x{size[1]} is larger than {MAX_RLE_PIXELS} pixels"
    counts = rle["counts"]
    if isinstance(counts, bytes):  # pycocotools' own output
        counts = counts.decode("ascii", errors="replace")
    if isinstance(counts, str):
        try:
            runs = rle_string_to_counts(counts)
        except ValueError as exc:
            return str(exc)
    elif isinstance(counts, list):
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts):
            return "counts must be non-negative integers"
        runs = counts
    else:
        return "counts must be a compressed string or a list of run lengths"
    if sum(runs) != total:
        return f"counts cover {sum(runs)} pixels but size {size[0]}x{size[1]} has {total}"
    return None


def _checked(rle: dict) -> tuple[int, int, Any]:
    problem = rle_problem(rle)
    if problem:
        raise ValueError(f"Invalid RLE: {problem}.")
    h, w = rle["size"]
    counts = rle["counts"]
    return int(h), int(w), counts.decode("ascii") if isinstance(counts, bytes) else counts


def rle_compress(rle: dict) -> dict:
    """The same RLE with compressed string ``counts`` (list counts are encoded)."""
    h, w, counts = _checked(rle)
    if isinstance(counts, str):
        return {"size": [h, w], "counts": counts}
    encoded = coco_mask.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    return {"size": [h, w], "counts": encoded["counts"].decode("ascii")}


def rle_decode(rle: dict) -> np.ndarray:
    """Binary ``uint8`` mask from COCO RLE (compressed string or uncompressed list counts)."""
    return coco_mask.decode(_compressed(rle)).astype(np.uint8)


def rle_area(rle: dict) -> int:
    return int(coco_mask.area(_compressed(rle)))


def rle_bbox(rle: dict) -> tuple[float, float, float, float]:
    x, y, w, h = coco_mask.toBbox(_compressed(rle)).tolist()
    return x, y, w, h


def _compressed(rle: dict) -> dict:
    h, w, counts = _checked(rle)
    if isinstance(counts, list):
        return coco_mask.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    return {"size": [h, w], "counts": counts.encode("ascii")}


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
    if not keyframes:  # a track split or cut down to nothing shows nothing
        return
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


def bridge_holes(polygon: PolygonDict) -> list[Point]:
    """One ring for a polygon with holes: each hole joined to the outline by a zero-width cut
    (keyhole), for formats whose polygons have no holes (YOLO segmentation lines). Filled
    with the shared rasteriser, the ring covers the same pixels as the polygon with holes."""
    ring = [list(p) for p in polygon["exterior"]]
    holes = [h for h in polygon.get("holes") or [] if len(h) >= 3]
    for hole in sorted(holes, key=lambda h: min(p[0] for p in h)):
        outer = np.asarray(ring, dtype=np.float64)
        inner = np.asarray(hole, dtype=np.float64)
        distances = ((outer[:, None, :] - inner[None, :, :]) ** 2).sum(axis=2)
        i, j = np.unravel_index(int(np.argmin(distances)), distances.shape)
        loop = [list(p) for p in hole[j:]] + [list(p) for p in hole[: j + 1]]
        ring = ring[: i + 1] + loop + ring[i:]
    return ring


def valid_polygons_area(polygons: list[PolygonDict]) -> float:
    """Area of *valid* polygons (exteriors minus holes) by the shoelace formula: what
    :func:`polygons_area` (shapely) returns for them, without building shapely objects —
    for exporters, whose stored shapes were validated (and repaired) when saved."""
    total = 0.0
    for polygon in polygons:
        total += _shoelace(polygon["exterior"])
        for hole in polygon.get("holes") or ():
            total -= _shoelace(hole)
    return total


def _shoelace(ring: list[Point]) -> float:
    area = 0.0
    x0, y0 = ring[-1][0], ring[-1][1]
    for point in ring:
        x1, y1 = point[0], point[1]
        area += x0 * y1 - x1 * y0
        x0, y0 = x1, y1
    return abs(area) / 2.0
