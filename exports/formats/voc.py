"""Pascal VOC: the full structure Datumaro's ``voc`` importer and VOC tools read.

```
Annotations/<stem>.xml               size, objects (name, bndbox, truncated, occluded, difficult)
ImageSets/Main/<subset>.txt          frame stems of the subset ("default" without a split)
ImageSets/Segmentation/<subset>.txt
JPEGImages/<stem>.<ext>              the frames (originals kept as they are)
SegmentationClass/<stem>.png         indexed PNG: class index (labelmap.txt order), its colour
SegmentationObject/<stem>.png        indexed PNG: instance i, VOC palette colour i
labelmap.txt                         name:r,g,b:: per class, background first
```
``bndbox`` holds our continuous pixel coordinates (x, y, x + w, y + h), as CVAT and
Datumaro write them. Masks are painted bottom to top in z-order with the shared
rasteriser; a class whose colour is black or taken by another class is given its VOC
palette colour instead (labelmap.txt says which colour each class really has).
``masks`` chooses the PNGs: ``both`` (default), ``class``, ``object`` or ``none`` (the
detection part only). The PNGs are 8-bit palette images, as in VOC itself: tools that read
colours (OpenCV, Datumaro) see the class / instance colours, tools that read indexes
(PIL mode "P") see class / instance numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from xml.sax.saxutils import escape

import cv2
import numpy as np

from exports.formats.base import (
    ExportContext,
    Exporter,
    ExportFrame,
    ExportLabel,
    Option,
    SubsetLists,
    encode_indexed_png,
)


def voc_palette(count: int = 256) -> np.ndarray:
    """The standard VOC colour map (index → RGB) by bit interleaving."""
    palette = np.zeros((count, 3), dtype=np.uint8)
    for index in range(count):
        value, r, g, b = index, 0, 0, 0
        for shift in range(7, -1, -1):
            r |= ((value >> 0) & 1) << shift
            g |= ((value >> 1) & 1) << shift
            b |= ((value >> 2) & 1) << shift
            value >>= 3
        palette[index] = (r, g, b)
    return palette


PALETTE = voc_palette()


def class_colors(labels: list[ExportLabel]) -> list[tuple[int, int, int]]:
    """One distinct non-black colour per label (index + 1 in labelmap.txt)."""
    used: set[tuple[int, int, int]] = {(0, 0, 0)}
    colors = []
    for index, label in enumerate(labels, start=1):
        color = label.rgb
        if color in used:
            color = tuple(int(c) for c in PALETTE[index])
            while color in used:  # pragma: no cover - only with hand-picked palette colours
                color = ((color[0] + 37) % 256, (color[1] + 91) % 256, (color[2] + 53) % 256)
        used.add(color)
        colors.append(color)
    return colors


def labelmap_txt(labels: list[ExportLabel], colors: list[tuple[int, int, int]]) -> str:
    lines = ["# label:color_rgb:parts:actions", "background:0,0,0::"]
    for label, (r, g, b) in zip(labels, colors, strict=True):
        lines.append(f"{label.name.replace(':', '_')}:{r},{g},{b}::")
    return "\n".join(lines) + "\n"


def annotation_xml(frame: ExportFrame, labels_rank: dict[int, int], ctx: ExportContext, segmented: bool) -> str:
    parts = [
        "<annotation>",
        "  <folder>JPEGImages</folder>",
        f"  <filename>{escape(frame.image_name)}</filename>",
        "  <source><database>Annotator</database></source>",
        f"  <size><width>{frame.width}</width><height>{frame.height}</height><depth>3</depth></size>",
        f"  <segmented>{1 if segmented else 0}</segmented>",
    ]
    count = 0
    for shape in frame.shapes:
        if shape.kind != "area" or shape.label is None:
            ctx.skip(f"{shape.type} has no VOC object form" if shape.label else "no label")
            continue
        x, y, w, h = shape.bbox
        truncated = x < 0 or y < 0 or x + w > frame.width or y + h > frame.height
        x0, y0 = max(x, 0.0), max(y, 0.0)
        x1, y1 = min(x + w, float(frame.width)), min(y + h, float(frame.height))
        if x1 <= x0 or y1 <= y0:
            ctx.skip("outside the frame")
            continue
        count += 1
        parts.append(
            "  <object>"
            f"<name>{escape(shape.label.name.replace(':', '_'))}</name><pose>Unspecified</pose>"
            f"<truncated>{int(truncated)}</truncated><occluded>{int(shape.occluded)}</occluded>"
            f"<difficult>{int(bool(shape.attributes.get('difficult')))}</difficult>"
            f"<bndbox><xmin>{x0:.2f}</xmin><ymin>{y0:.2f}</ymin><xmax>{x1:.2f}</xmax><ymax>{y1:.2f}</ymax></bndbox>"
            "</object>"
        )
    ctx.annotation_count += count
    parts.append("</annotation>")
    return "\n".join(parts) + "\n"


def paint_instances(frame: ExportFrame, labels_rank: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(instance index map, instance → class index table), painted bottom to top by z-order:
    one pass draws instance numbers; the class map is a lookup of it."""
    instances = np.zeros((frame.height, frame.width), dtype=np.uint8)
    table = np.zeros(256, dtype=np.uint8)
    areas = [s for s in frame.shapes if s.kind == "area" and s.label is not None]
    areas.sort(key=lambda s: labels_rank[s.label.id])
    for number, shape in enumerate(areas[:255], start=1):
        shape.draw(instances, number)
        table[number] = labels_rank[shape.label.id] + 1
    return instances, table


class PascalVoc(Exporter):
    name = "voc"
    title = "Pascal VOC"
    description = "Annotations/, ImageSets/Main + Segmentation, JPEGImages/, SegmentationClass/ + Object/, labelmap.txt"
    kinds = frozenset({"area"})
    renders_masks = True
    OPTIONS = {
        "masks": Option(
            str,
            "both",
            "segmentation PNGs to write: both (SegmentationClass + SegmentationObject), class, object, or none",
            ("both", "class", "object", "none"),
        )
    }

    def export(self, frames: Iterable[ExportFrame], writer, ctx: ExportContext) -> None:
        rank = {label.id: index for index, label in enumerate(ctx.labels)}
        colors = class_colors(ctx.labels)
        class_palette = np.array([(0, 0, 0), *colors], dtype=np.uint8)
        masks = self.options["masks"]
        writer.write("labelmap.txt", labelmap_txt(ctx.labels, colors).encode())
        lists = SubsetLists()
        for frame in frames:
            subset = frame.split or "default"
            lists.add(subset, frame.stem)
            writer.write(f"Annotations/{frame.stem}.xml", annotation_xml(frame, rank, ctx, masks != "none").encode())
            if masks != "none":
                instances, table = paint_instances(frame, rank)
                if masks in ("both", "class"):
                    classes = cv2.LUT(instances, table)
                    writer.write(f"SegmentationClass/{frame.stem}.png", encode_indexed_png(classes, class_palette))
                if masks in ("both", "object"):
                    writer.write(f"SegmentationObject/{frame.stem}.png", encode_indexed_png(instances, PALETTE))
            if ctx.include_images:
                writer.write(f"JPEGImages/{frame.image_name}", frame.image_bytes())
            ctx.on_frame(frame)
        folders = ["ImageSets/Main", "ImageSets/Segmentation"] if masks != "none" else ["ImageSets/Main"]
        lists.write(writer, folders)
