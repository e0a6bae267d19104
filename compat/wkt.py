"""Cytomine's coordinate face: WKT locations with the origin at the image's bottom-left, y up.

Our per-frame shapes are stored in pixels of their frame, origin at the top-left corner, y
down, continuous (pixel (i, j) covers [i, i+1) x [j, j+1)); see docs/architecture.md.
Cytomine serves and accepts WKT whose origin is the image's *bottom-left* corner, y up. The
conversion happens here, at this edge only, both ways::

    x_cytomine = x_ours
    y_cytomine = height - y_ours        (so y_ours = height - y_cytomine)

``height`` is the image's height in pixels. The map is its own inverse and keeps the
continuous convention (our pixel row j, ``[j, j+1)``, is ``[height-j-1, height-j)`` for
Cytomine), so a shape written through one face and read through the other is the same
shape (bit for bit for integer and half-pixel coordinates, within float rounding otherwise).

Reading: every stored per-frame shape that has pixels becomes one WKT geometry (boxes and
rotated boxes → POLYGON, polygons and masks → POLYGON/MULTIPOLYGON with holes, points →
POINT/MULTIPOINT, polylines → LINESTRING, visible keypoints → MULTIPOINT). Writing: POLYGON
and MULTIPOLYGON → ``polygon``, POINT/MULTIPOINT → ``points``, LINESTRING → ``polyline``;
the annotations service then validates, repairs and clips them like any other shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.affinity import affine_transform
from shapely.errors import ShapelyError
from shapely.geometry import LineString, MultiPoint, Point
from shapely.geometry.base import BaseGeometry

from annotations import geometry

# Shapes that have pixels, i.e. a Cytomine ``location``.
LOCATED_TYPES = ("bbox", "rotated_bbox", "polygon", "mask", "points", "polyline", "keypoints")
MAX_WKT_CHARS = 10 * 1024 * 1024


class InvalidLocation(ValueError):
    """A location Cytomine clients sent that cannot become one of our shapes (→ 400)."""


@dataclass(frozen=True)
class Shape:
    """One of our shapes, in our pixel coordinates: an annotation ``type`` and its ``geometry``."""

    type: str
    geometry: dict[str, Any]
    outline: BaseGeometry  # the same shape as a shapely geometry (our pixels)


def flip(shape: BaseGeometry, height: float) -> BaseGeometry:
    """Mirror ``shape`` about the image's horizontal middle: y → height - y (both directions)."""
    return affine_transform(shape, [1.0, 0.0, 0.0, -1.0, 0.0, float(height)])


# --- ours → Cytomine -------------------------------------------------------------------
def _num(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    return float(value)


def _polygons_of(data: dict) -> list[dict]:
    if "polygons" in data:
        return data["polygons"]
    if "exterior" in data:
        return [{"exterior": data["exterior"], "holes": data.get("holes") or []}]
    if "points" in data:
        return [{"exterior": data["points"], "holes": []}]
    raise ValueError("no polygons")


def stored_shape(annotation) -> BaseGeometry | None:
    """The annotation's shape as a shapely geometry in *our* pixel coordinates (None when the
    annotation has no pixels, e.g. a classification, or its stored geometry is unreadable)."""
    data = annotation.geometry or {}
    kind = annotation.type
    try:
        if kind == "bbox":
            x, y = _num(data["x"]), _num(data["y"])
            w, h = _num(data.get("width", data.get("w"))), _num(data.get("height", data.get("h")))
            return geometry.to_shapely(geometry.bbox_to_polygon(x, y, w, h)).geoms[0]
        if kind == "rotated_bbox":
            w, h = _num(data.get("width", data.get("w"))), _num(data.get("height", data.get("h")))
            corners = geometry.rotated_box_corners(
                _num(data["cx"]), _num(data["cy"]), w, h, _num(data.get("angle", 0.0))
            )
            return geometry.to_shapely([{"exterior": corners, "holes": []}]).geoms[0]
        if kind in ("polygon", "mask"):
            if kind == "mask" and isinstance(data.get("rle"), dict):
                polygons = geometry.mask_to_polygons(geometry.rle_decode(data["rle"]))
            else:
                polygons = _polygons_of(data)
            if not polygons:
                return None
            shape = geometry.to_shapely(polygons)
            return shape.geoms[0] if len(shape.geoms) == 1 else shape
        if kind == "points":
            points = [(_num(p[0]), _num(p[1])) for p in data["points"]]
            return Point(points[0]) if len(points) == 1 else MultiPoint(points)
        if kind == "polyline":
            return LineString([(_num(p[0]), _num(p[1])) for p in data["points"]])
        if kind == "keypoints":
            visible = []
            for p in data.get("points") or []:
                if isinstance(p, dict):
                    if p.get("visibility", 2):
                        visible.append((_num(p["x"]), _num(p["y"])))
                elif len(p) < 3 or p[2]:
                    visible.append((_num(p[0]), _num(p[1])))
            return MultiPoint(visible) if visible else None
    except (KeyError, IndexError, TypeError, ValueError, ShapelyError):
        return None  # a malformed stored row is served without a location, never guessed
    return None


def to_cytomine(shape: BaseGeometry, height: float) -> BaseGeometry:
    """Our pixel geometry → Cytomine's (bottom-left origin, y up)."""
    return flip(shape, height)


def wkt_of(shape: BaseGeometry) -> str:
    return shapely.to_wkt(shape, trim=True, rounding_precision=-1)


# --- Cytomine → ours -------------------------------------------------------------------
def parse_location(text: Any, height: int | None) -> Shape:
    """A Cytomine ``location`` (WKT, bottom-left origin) → one of our shapes in our pixels.

    Raises :class:`InvalidLocation` with a message that says what to fix. Validation of the
    shape itself (degenerate, outside the image, self-intersections) is the annotations
    service's, as for every other client.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidLocation("location is required: a WKT geometry such as 'POLYGON ((x y, ...))'.")
    if len(text) > MAX_WKT_CHARS:
        raise InvalidLocation(f"location is longer than {MAX_WKT_CHARS} characters.")
    if height is None:
        raise InvalidLocation("this image has no size yet (its media is not ingested), so no location can be placed.")
    try:
        shape = shapely.from_wkt(text.strip())
    except (ShapelyError, ValueError, TypeError) as exc:
        raise InvalidLocation(f"location is not valid WKT: {exc}") from None
    if shape is None or shape.is_empty:
        raise InvalidLocation("location is an empty geometry.")
    if shape.has_z:
        shape = shapely.force_2d(shape)
    coords = shapely.get_coordinates(shape)
    if not all(math.isfinite(v) for v in coords.ravel()):
        raise InvalidLocation("location has coordinates that are not finite numbers.")
    ours = flip(shape, height)
    kind = ours.geom_type
    if kind in ("Polygon", "MultiPolygon"):
        parts = [ours] if kind == "Polygon" else list(ours.geoms)
        polygons = [
            {
                "exterior": [[x, y] for x, y in list(p.exterior.coords)[:-1]],
                "holes": [[[x, y] for x, y in list(r.coords)[:-1]] for r in p.interiors],
            }
            for p in parts
        ]
        return Shape("polygon", {"polygons": polygons}, ours)
    if kind == "Point":
        return Shape("points", {"points": [[ours.x, ours.y]]}, ours)
    if kind == "MultiPoint":
        return Shape("points", {"points": [[p.x, p.y] for p in ours.geoms]}, ours)
    if kind in ("LineString", "LinearRing"):
        return Shape("polyline", {"points": [[x, y] for x, y in ours.coords]}, ours)
    raise InvalidLocation(
        f"location is a {shape.geom_type}; send POLYGON, MULTIPOLYGON, POINT, MULTIPOINT or LINESTRING "
        "(one shape per annotation)."
    )
