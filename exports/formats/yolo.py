"""YOLO detection and segmentation in the Ultralytics layout.

```
data.yaml                 path, train/val/test image folders, nc, names {id: name}
classes.txt               one class name per line (class id = line number, 0-based)
images/<subset>/<stem>.jpg
labels/<subset>/<stem>.txt
```
Without a split everything is in ``train`` (and ``val`` points at it, as Ultralytics needs a
val set). Coordinates are normalized to 0-1 of the frame, written in fixed point (no
exponents: Datumaro's importer reads plain decimals), and clipped to the frame.

* ``yolo`` — one ``class cx cy w h`` line per area shape (its bounding box). Datumaro's
  ``yolo`` importer reads exactly these 5-field lines.
* ``yolo_seg`` — one ``class x1 y1 x2 y2 ...`` line per polygon part (Ultralytics
  segmentation). YOLO lines cannot hold holes: a hole is joined to its outline by a
  zero-width cut (``geometry.bridge_holes``), so the line still rasterises with the hole.
  Datumaro cannot read segmentation lines; Ultralytics can.
"""

from __future__ import annotations

from collections.abc import Iterable

from annotations import geometry
from exports.formats.base import ExportContext, Exporter, ExportFrame, Option


def _f(value: float) -> str:
    return f"{min(max(value, 0.0), 1.0):.6f}"


def data_yaml(ctx: ExportContext) -> str:
    subsets = ctx.splits or ["train"]
    lines = ["# Ultralytics YOLO dataset, exported by Annotator", "path: ."]
    lines.append("train: images/train" if "train" in subsets else f"train: images/{subsets[0]}")
    lines.append("val: images/val" if "val" in subsets else f"val: images/{subsets[0]}")
    if "test" in subsets:
        lines.append("test: images/test")
    lines.append(f"nc: {len(ctx.labels)}")
    lines.append("names:")
    for index, label in enumerate(ctx.labels):
        lines.append(f"  {index}: {_yaml_string(label.name)}")
    return "\n".join(lines) + "\n"


def _yaml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


class YoloDetection(Exporter):
    name = "yolo"
    title = "YOLO detection (Ultralytics layout)"
    description = "data.yaml, images/<subset>/, labels/<subset>/ with 'class cx cy w h' lines"
    kinds = frozenset({"area"})
    OPTIONS = {
        "empty_label_files": Option(bool, True, "write an empty .txt for frames without shapes (negatives)"),
    }

    def lines(self, frame: ExportFrame, class_ids: dict[int, int], ctx: ExportContext) -> list[str]:
        out = []
        for shape in frame.shapes:
            if shape.kind != "area" or shape.label is None:
                ctx.skip(f"{shape.type} has no YOLO detection form" if shape.label else "no label")
                continue
            x, y, w, h = shape.bbox
            x0, y0 = max(x, 0.0), max(y, 0.0)
            x1, y1 = min(x + w, float(frame.width)), min(y + h, float(frame.height))
            if x1 <= x0 or y1 <= y0:
                ctx.skip("outside the frame")
                continue
            x, y, w, h = x0, y0, x1 - x0, y1 - y0
            out.append(
                f"{class_ids[shape.label.id]} {_f((x + w / 2) / frame.width)} {_f((y + h / 2) / frame.height)} "
                f"{_f(w / frame.width)} {_f(h / frame.height)}"
            )
        return out

    def export(self, frames: Iterable[ExportFrame], writer, ctx: ExportContext) -> None:
        class_ids = {label.id: index for index, label in enumerate(ctx.labels)}
        writer.write("data.yaml", data_yaml(ctx).encode())
        writer.write("classes.txt", "".join(f"{label.name}\n" for label in ctx.labels).encode())
        for frame in frames:
            subset = frame.split or "train"
            lines = self.lines(frame, class_ids, ctx)
            ctx.annotation_count += len(lines)
            if lines or self.options["empty_label_files"]:
                writer.write(f"labels/{subset}/{frame.stem}.txt", ("\n".join(lines) + "\n" if lines else "").encode())
            if ctx.include_images:
                writer.write(f"images/{subset}/{frame.image_name}", frame.image_bytes())
            ctx.on_frame(frame)


class YoloSegmentation(YoloDetection):
    name = "yolo_seg"
    title = "YOLO segmentation (Ultralytics layout)"
    description = "data.yaml, images/<subset>/, labels/<subset>/ with 'class x1 y1 x2 y2 ...' polygon lines"

    def lines(self, frame: ExportFrame, class_ids: dict[int, int], ctx: ExportContext) -> list[str]:
        out = []
        w, h = frame.width, frame.height
        for shape in frame.shapes:
            if shape.kind != "area" or shape.label is None:
                ctx.skip(f"{shape.type} has no YOLO segmentation form" if shape.label else "no label")
                continue
            polygons = shape.polygons
            if polygons is None:  # a mask stored as RLE: trace it
                polygons = geometry.mask_to_polygons(shape.mask(h, w))
            polygons = _inside_frame(polygons, w, h)
            for polygon in polygons:
                ring = geometry.bridge_holes(polygon)
                if len(ring) < 3:
                    continue
                coords = " ".join(f"{_f(px / w)} {_f(py / h)}" for px, py in ring)
                out.append(f"{class_ids[shape.label.id]} {coords}")
        return out


def _inside_frame(polygons: list[dict], width: int, height: int) -> list[dict]:
    """Polygons cut to the frame (only computed when a shape pokes out of it)."""
    x, y, w, h = geometry.polygons_bbox(polygons)
    if x >= 0 and y >= 0 and x + w <= width and y + h <= height:
        return polygons
    from shapely.geometry import box

    return geometry.from_shapely(geometry.to_shapely(polygons).intersection(box(0, 0, width, height)))
