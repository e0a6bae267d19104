"""GeoJSON: one ``FeatureCollection`` per frame, ``<subset>/<stem>.geojson``.

Geometries are in pixel coordinates of the frame: areas → ``Polygon`` / ``MultiPolygon``
with holes as interior rings (rings closed; exterior counter-clockwise and holes clockwise
in the written coordinates, as RFC 7946 orders them); polylines → ``LineString``; points →
``MultiPoint``; keypoints → ``MultiPoint`` of the labelled keypoints. Properties carry the
class (name, id, maskid, colour, z-order), source, annotation / track ids and attributes.
``y_axis: up`` flips y (``height - y``) for tools with a bottom-left origin, e.g. Cytomine.
A mask stored as RLE is traced into polygons by ``geometry.mask_to_polygons``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from shapely.geometry import Polygon
from shapely.geometry.polygon import orient

from annotations import geometry
from exports.formats.base import ExportContext, Exporter, ExportFrame, ExportShape, Option


def _ring(points, flip, closed: bool = True) -> list[list[float]]:
    ring = [[round(x, 2), round(flip(y), 2)] for x, y in points]
    if closed and ring and ring[0] != ring[-1]:
        ring.append(list(ring[0]))
    return ring


def feature_geometry(shape: ExportShape, frame: ExportFrame, y_up: bool) -> dict | None:
    height = frame.height

    def flip(y):
        return height - y if y_up else y

    if shape.kind == "area":
        polygons = (
            shape.polygons if shape.polygons is not None else geometry.mask_to_polygons(shape.mask(height, frame.width))
        )
        rings = []
        for polygon in polygons:
            oriented = orient(
                Polygon(
                    [(x, flip(y)) for x, y in polygon["exterior"]],
                    [[(x, flip(y)) for x, y in h] for h in polygon.get("holes") or []],
                ),
                sign=1.0,
            )
            rings.append(
                [_ring(oriented.exterior.coords[:-1], lambda y: y)]
                + [_ring(interior.coords[:-1], lambda y: y) for interior in oriented.interiors]
            )
        if not rings:
            return None
        if len(rings) == 1:
            return {"type": "Polygon", "coordinates": rings[0]}
        return {"type": "MultiPolygon", "coordinates": rings}
    if shape.kind == "line":
        return {"type": "LineString", "coordinates": _ring(shape.points, flip, closed=False)}
    if shape.kind == "points":
        return {"type": "MultiPoint", "coordinates": _ring(shape.points, flip, closed=False)}
    if shape.kind == "keypoints":
        visible = [(x, y) for x, y, v in shape.points if v > 0]
        return {"type": "MultiPoint", "coordinates": _ring(visible, flip, closed=False)}
    return None


def feature(shape: ExportShape, frame: ExportFrame, y_up: bool) -> dict | None:
    geom = feature_geometry(shape, frame, y_up)
    if geom is None and shape.kind != "tag":
        return None
    label = shape.label
    properties = {
        "class": label.name if label else None,
        "label_id": label.id if label else None,
        "maskid": label.maskid if label else None,
        "color": label.color if label else None,
        "z_order": label.z_order if label else None,
        "type": shape.type,
        "source": shape.source,
        "annotation_id": shape.annotation_id,
        "task_id": frame.task_id,
        "frame": frame.number,
    }
    if shape.track_id:
        properties["track_id"] = shape.track_id
    if shape.occluded:
        properties["occluded"] = True
    if shape.score is not None:
        properties["score"] = shape.score
    if shape.attributes:
        properties["attributes"] = shape.attributes
    if shape.kind == "keypoints" and label is not None:
        properties["keypoints"] = label.keypoint_names
        properties["visibility"] = [int(v) for _, _, v in shape.points]
    return {"type": "Feature", "geometry": geom, "properties": properties}


class GeoJson(Exporter):
    name = "geojson"
    title = "GeoJSON"
    description = "one FeatureCollection per frame (<subset>/<stem>.geojson); holes as interior rings"
    kinds = frozenset({"area", "line", "points", "keypoints", "tag"})
    OPTIONS = {"y_axis": Option(str, "down", "down: image rows (default); up: height - y (Cytomine)", ("down", "up"))}

    def export(self, frames: Iterable[ExportFrame], writer, ctx: ExportContext) -> None:
        y_up = self.options["y_axis"] == "up"
        for frame in frames:
            folder = f"{frame.split}/" if frame.split else ""
            features = []
            for shape in frame.shapes:
                item = feature(shape, frame, y_up)
                if item is None:
                    ctx.skip("empty geometry")
                    continue
                features.append(item)
            ctx.annotation_count += len(features)
            collection = {
                "type": "FeatureCollection",
                "properties": {
                    "image": frame.image_name,
                    "width": frame.width,
                    "height": frame.height,
                    "task_id": frame.task_id,
                    "frame": frame.number,
                    "y_axis": self.options["y_axis"],
                },
                "features": features,
            }
            writer.write(f"{folder}{frame.stem}.geojson", json.dumps(collection, ensure_ascii=False).encode())
            if ctx.include_images:
                writer.write(f"{folder}{frame.image_name}", frame.image_bytes())
            ctx.on_frame(frame)
