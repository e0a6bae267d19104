"""Geometry of per-frame shapes (pixels of their frame): checked with shapely, normalised.

Each ``clean_*`` function takes the ``geometry`` object a client sent, the frame's size
(``(width, height)``, or None when the task has no frames yet) and a :class:`Problems`
collector; it returns the normalised geometry, or None after recording why it was refused.

Decisions (docs/annotations.md repeats them for API users):

* **Self-intersections are repaired**, not refused: polygon rings that cross themselves,
  holes that leave their exterior and overlapping parts of a multipolygon go through
  ``geometry.repair_polygons`` (shapely ``make_valid``); the saved (and returned) geometry
  is the repaired one.
* **Degenerate shapes are refused**: boxes without width or height, polygons without area,
  polylines without length, masks without a pixel.
* **Out of the frame**: areas (boxes, polygons, mask polygons) are **clipped** to the frame
  — a box dragged past the edge keeps its inside part — and refused only when nothing is
  left. Points, keypoints and polyline vertices outside the frame are **refused** (clipping
  would move them); a rotated box is refused when its centre is outside (its corners may
  stick out, as they do in DOTA-style data). A mask RLE must have the frame's size.
* **Task without frames** (media not ingested yet, text tasks, tests): the frame size is
  unknown, so only the origin bound applies (coordinates are clipped/refused below 0).
"""

from __future__ import annotations

import math
from typing import Any

from shapely.geometry import LineString
from shapely.validation import explain_validity

from annotations import geometry

MAX_POINTS = 100_000  # vertices in one shape (all rings together)
UNBOUNDED = 1e12  # "frame size unknown": clip at the origin only

Size = tuple[int, int] | None


class Problems:
    """Collects ``{"path": [message, ...]}`` for one shape; paths are relative to the shape."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.errors)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def frame_words(size: Size) -> str:
    return f"the {size[0]}x{size[1]} frame" if size else "the frame"


def check_keys(value: dict, allowed: set[str], path: str, p: Problems) -> bool:
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        p.add(path, f"unknown keys: {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))}).")
        return False
    return True


def numbers(value: dict, names: tuple[str, ...], path: str, p: Problems) -> list[float] | None:
    out = []
    for name in names:
        if not is_number(value.get(name)):
            p.add(f"{path}.{name}", f"{name} must be a finite number, got {value.get(name)!r}.")
        else:
            out.append(float(value[name]))
    return out if len(out) == len(names) else None


def _point(value: Any) -> tuple[float, float] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(is_number(v) for v in value):
        return float(value[0]), float(value[1])
    return None


def point_list(value: Any, path: str, p: Problems, *, minimum: int, what: str) -> list[list[float]] | None:
    """``[[x, y], ...]`` with at least ``minimum`` points."""
    if not isinstance(value, list):
        p.add(path, f"{what} must be a list of [x, y] points.")
        return None
    if len(value) < minimum:
        p.add(path, f"{what} needs at least {minimum} point{'s' if minimum > 1 else ''}, got {len(value)}.")
        return None
    if len(value) > MAX_POINTS:
        p.add(path, f"{what} has {len(value)} points; at most {MAX_POINTS}.")
        return None
    out = []
    for i, item in enumerate(value):
        pt = _point(item)
        if pt is None:
            p.add(f"{path}.{i}", f"point {i} must be [x, y] with two finite numbers, got {item!r}.")
            return None
        out.append([pt[0], pt[1]])
    return out


def inside(x: float, y: float, size: Size) -> bool:
    if x < 0 or y < 0:
        return False
    return size is None or (x <= size[0] and y <= size[1])


def _check_inside(points: list[list[float]], size: Size, path: str, p: Problems, what: str) -> bool:
    for i, (x, y) in enumerate(points):
        if not inside(x, y, size):
            p.add(path, f"{what} {i} ({x:g}, {y:g}) lies outside {frame_words(size)}.")
            return False
    return True


# --- boxes ---------------------------------------------------------------------------------
def clean_bbox(g: dict, size: Size, p: Problems) -> dict | None:
    """``{"x", "y", "width", "height"}`` (``w``/``h`` accepted), top-left corner, pixels."""
    if not check_keys(g, {"type", "x", "y", "width", "height", "w", "h"}, "geometry", p):
        return None
    g = {**g, "width": g.get("width", g.get("w")), "height": g.get("height", g.get("h"))}
    values = numbers(g, ("x", "y", "width", "height"), "geometry", p)
    if values is None:
        return None
    x, y, w, h = values
    if w <= 0 or h <= 0:
        p.add("geometry", f"degenerate box: width and height must be greater than 0 (got {w:g} x {h:g}).")
        return None
    bound = size or (UNBOUNDED, UNBOUNDED)
    clipped = geometry.clip_box(x, y, w, h, *bound)
    if clipped is None:
        p.add("geometry", f"the box lies entirely outside {frame_words(size)}.")
        return None
    x, y, w, h = clipped
    return {"x": x, "y": y, "width": w, "height": h}


def clean_rotated_bbox(g: dict, size: Size, p: Problems) -> dict | None:
    """``{"cx", "cy", "width", "height", "angle"}`` (clockwise degrees about the centre), or
    Label Studio's ``{"x", "y", "width", "height", "rotation"}`` (rotation about the top-left corner)."""
    if "cx" in g or "cy" in g:
        if not check_keys(g, {"type", "cx", "cy", "width", "height", "angle"}, "geometry", p):
            return None
        values = numbers({"angle": 0, **g}, ("cx", "cy", "width", "height", "angle"), "geometry", p)
        if values is None:
            return None
        cx, cy, w, h, angle = values
    else:
        if not check_keys(g, {"type", "x", "y", "width", "height", "rotation"}, "geometry", p):
            return None
        values = numbers({"rotation": 0, **g}, ("x", "y", "width", "height", "rotation"), "geometry", p)
        if values is None:
            return None
        cx, cy, w, h, angle = geometry.corner_rotated_box_to_centre(*values)
    if w <= 0 or h <= 0:
        p.add("geometry", f"degenerate box: width and height must be greater than 0 (got {w:g} x {h:g}).")
        return None
    if not inside(cx, cy, size):
        p.add("geometry", f"the box centre ({cx:g}, {cy:g}) lies outside {frame_words(size)}.")
        return None
    return {"cx": cx, "cy": cy, "width": w, "height": h, "angle": angle % 360.0}


# --- polygons ------------------------------------------------------------------------------
def _polygon_list(g: dict, p: Problems) -> list[dict] | None:
    """The accepted spellings of a (multi)polygon → ``[{"exterior", "holes"}, ...]``."""
    if "polygons" in g:
        check_keys(g, {"type", "polygons"}, "geometry", p)
        raw = g["polygons"]
        if not isinstance(raw, list) or not raw:
            p.add("geometry.polygons", 'polygons must be a non-empty list of {"exterior": [...], "holes": [...]}.')
            return None
    elif "exterior" in g:
        check_keys(g, {"type", "exterior", "holes"}, "geometry", p)
        raw = [{"exterior": g["exterior"], "holes": g.get("holes", [])}]
    elif "points" in g:
        check_keys(g, {"type", "points"}, "geometry", p)
        raw = [{"exterior": g["points"], "holes": []}]
    else:
        p.add("geometry", 'a polygon needs "polygons" (multipolygon with holes), "exterior" (+ "holes") or "points".')
        return None
    if p:
        return None
    polygons: list[dict] = []
    total = 0
    for i, item in enumerate(raw):
        where = f"geometry.polygons.{i}"
        if not isinstance(item, dict) or "exterior" not in item or not set(item) <= {"exterior", "holes"}:
            p.add(where, 'each polygon is {"exterior": [[x, y], ...], "holes": [[[x, y], ...], ...]}.')
            return None
        exterior = point_list(item["exterior"], f"{where}.exterior", p, minimum=3, what="the exterior ring")
        holes_raw = item.get("holes") or []
        if not isinstance(holes_raw, list):
            p.add(f"{where}.holes", "holes must be a list of rings.")
            return None
        holes = []
        for j, ring in enumerate(holes_raw):
            hole = point_list(ring, f"{where}.holes.{j}", p, minimum=3, what=f"hole {j}")
            if hole is not None:
                holes.append(hole)
        if p or exterior is None:
            return None
        total += len(exterior) + sum(len(h) for h in holes)
        polygons.append({"exterior": exterior, "holes": holes})
    if total > MAX_POINTS:
        p.add("geometry", f"the polygons have {total} points; at most {MAX_POINTS}.")
        return None
    return polygons


def clean_polygons(g: dict, size: Size, p: Problems) -> dict | None:
    """``{"polygons": [{"exterior": [[x, y], ...], "holes": [...]}, ...]}``: repaired, clipped."""
    polygons = _polygon_list(g, p)
    if polygons is None:
        return None
    try:
        shape = geometry.to_shapely(polygons)
        if not shape.is_valid:
            polygons = geometry.repair_polygons(polygons)
            shape = geometry.to_shapely(polygons)
    except (ValueError, TypeError) as exc:  # shapely refuses rings it cannot build
        p.add("geometry", f"invalid polygon: {exc}.")
        return None
    if not polygons or shape.area <= 0:
        p.add("geometry", "degenerate polygon: it has no area (all points on one line, or repeated).")
        return None
    if not shape.is_valid:  # pragma: no cover - make_valid's output is valid
        p.add("geometry", f"invalid polygon: {explain_validity(shape)}.")
        return None
    bound = size or (max(shape.bounds[2], 0) + 1, max(shape.bounds[3], 0) + 1)
    polygons = geometry.clip_polygons(polygons, *bound)
    if not polygons:
        p.add("geometry", f"the polygon lies entirely outside {frame_words(size)}.")
        return None
    return {"polygons": polygons}


# --- lines and points ----------------------------------------------------------------------
def clean_polyline(g: dict, size: Size, p: Problems) -> dict | None:
    """``{"points": [[x, y], ...]}``, at least two points and some length; all inside the frame."""
    if not check_keys(g, {"type", "points"}, "geometry", p):
        return None
    points = point_list(g.get("points"), "geometry.points", p, minimum=2, what="a polyline")
    if points is None:
        return None
    if LineString(points).length <= 0:
        p.add("geometry", "degenerate polyline: all its points are the same.")
        return None
    if not _check_inside(points, size, "geometry.points", p, "point"):
        return None
    return {"points": points}


def clean_points(g: dict, size: Size, p: Problems) -> dict | None:
    """``{"points": [[x, y], ...]}``, at least one; all inside the frame."""
    if not check_keys(g, {"type", "points"}, "geometry", p):
        return None
    points = point_list(g.get("points"), "geometry.points", p, minimum=1, what="points")
    if points is None or not _check_inside(points, size, "geometry.points", p, "point"):
        return None
    return {"points": points}


VISIBILITY = (0, 1, 2)  # COCO: 0 not labelled, 1 labelled but hidden, 2 visible


def clean_keypoints(g: dict, size: Size, p: Problems, schema: dict | None, class_name: str) -> dict | None:
    """``{"points": [{"name", "x", "y", "visibility"}, ...]}`` (or ``[x, y, v]`` lists) in the
    order of the label's keypoint names; edges (the skeleton) live on the label."""
    names = list((schema or {}).get("names") or [])
    if not names:
        p.add("class_name", f"label {class_name!r} defines no keypoints; add names to its keypoint schema first.")
        return None
    if not check_keys(g, {"type", "points"}, "geometry", p):
        return None
    raw = g.get("points")
    if not isinstance(raw, list) or len(raw) != len(names):
        count = len(raw) if isinstance(raw, list) else "no list"
        p.add("geometry.points", f"label {class_name!r} has {len(names)} keypoints ({', '.join(names)}); got {count}.")
        return None
    by_name: dict[str, dict] = {}
    for i, item in enumerate(raw):
        where = f"geometry.points.{i}"
        if isinstance(item, (list, tuple)) and len(item) in (2, 3):
            item = {"name": names[i], "x": item[0], "y": item[1], "visibility": item[2] if len(item) == 3 else 2}
        if not isinstance(item, dict) or not check_keys(item, {"name", "x", "y", "visibility"}, where, p):
            if not p:
                p.add(where, 'a keypoint is {"name", "x", "y", "visibility"} or [x, y, visibility].')
            return None
        name = item.get("name", names[i])
        if name not in names:
            p.add(f"{where}.name", f"unknown keypoint {name!r} (this label has: {', '.join(names)}).")
            return None
        if name in by_name:
            p.add(f"{where}.name", f"keypoint {name!r} is given twice.")
            return None
        visibility = item.get("visibility", 2)
        if visibility not in VISIBILITY or isinstance(visibility, bool):
            message = f"visibility must be 0 (not labelled), 1 (hidden) or 2 (visible), got {visibility!r}."
            p.add(f"{where}.visibility", message)
            return None
        xy = numbers(item, ("x", "y"), where, p)
        if xy is None:
            return None
        if visibility and not inside(xy[0], xy[1], size):
            p.add(where, f"keypoint {name!r} ({xy[0]:g}, {xy[1]:g}) lies outside {frame_words(size)}.")
            return None
        by_name[name] = {"name": name, "x": xy[0], "y": xy[1], "visibility": visibility}
    if not any(pt["visibility"] for pt in by_name.values()):
        p.add("geometry.points", "degenerate pose: no keypoint is labelled (every visibility is 0).")
        return None
    return {"points": [by_name[name] for name in names]}


# --- masks ---------------------------------------------------------------------------------
def clean_mask(g: dict, size: Size, p: Problems) -> dict | None:
    """``{"polygons": [...]}`` (like a polygon) or ``{"rle": {"size": [h, w], "counts"}}`` (COCO
    RLE of the whole frame, compressed string or list counts; stored compressed)."""
    if "rle" in g or "counts" in g:
        if "rle" in g:
            if not check_keys(g, {"type", "rle"}, "geometry", p):
                return None
            rle = g["rle"]
        else:
            if not check_keys(g, {"type", "size", "counts"}, "geometry", p):
                return None
            rle = {"size": g.get("size"), "counts": g.get("counts")}
        problem = geometry.rle_problem(rle)
        if problem:
            p.add("geometry.rle", f"invalid RLE: {problem}.")
            return None
        if size is not None and list(rle["size"]) != [size[1], size[0]]:
            p.add(
                "geometry.rle",
                f"RLE size {list(rle['size'])} is not the frame's [height, width] = [{size[1]}, {size[0]}].",
            )
            return None
        compressed = geometry.rle_compress(rle)
        if geometry.rle_area(compressed) == 0:
            p.add("geometry.rle", "degenerate mask: no pixel is set.")
            return None
        return {"rle": compressed}
    return clean_polygons(g, size, p)
