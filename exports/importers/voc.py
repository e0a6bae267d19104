"""Pascal VOC in: ``Annotations/*.xml`` boxes, or instance masks.

``shapes: boxes`` (default) reads each ``<object>``'s ``bndbox`` (continuous pixel
coordinates ``xmin, ymin, xmax, ymax``, as CVAT, Datumaro and our export write them).
``shapes: masks`` reads ``SegmentationObject/<stem>.png`` (instances in VOC palette
colours) with ``SegmentationClass/<stem>.png`` and ``labelmap.txt`` (class colours) and
traces each instance into polygons with holes (``geometry.mask_to_polygons``). XML is
parsed with defusedxml (no entity expansion).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from defusedxml import ElementTree

from annotations import geometry
from exports.formats.base import Option
from exports.formats.voc import PALETTE
from exports.importers.base import Importer, ParsedFile, ParsedShape, files_under, read_small


def read_labelmap(root: Path) -> dict[tuple[int, int, int], str] | str:
    paths = sorted(root.rglob("labelmap.txt"))
    if not paths:
        return "masks need labelmap.txt (name:r,g,b:: per class)"
    data = read_small(paths[0])
    if isinstance(data, str):
        return data
    colors: dict[tuple[int, int, int], str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, rest = line.partition(":")
        rgb = rest.split(":")[0]
        try:
            r, g, b = (int(v) for v in rgb.split(","))
        except ValueError:
            continue
        if name != "background":
            colors[(r, g, b)] = name
    return colors


class VocImporter(Importer):
    name = "voc"
    title = "Pascal VOC"
    description = "Annotations/*.xml boxes, or SegmentationObject + SegmentationClass masks"
    OPTIONS = {
        "shapes": Option(str, "boxes", "boxes (XML bndbox) or masks (SegmentationObject PNGs)", ("boxes", "masks"))
    }

    def parse(self, root: Path) -> Iterator[ParsedFile]:
        if self.options["shapes"] == "masks":
            yield from self._masks(root)
            return
        for path in files_under(root, ".xml"):
            rel = str(path.relative_to(root))
            parsed = ParsedFile(rel, path.stem)
            data = read_small(path)
            if isinstance(data, str):
                parsed.refused = data
                yield parsed
                continue
            try:
                root_elem = ElementTree.fromstring(data)
            except Exception as exc:  # defusedxml raises its own errors besides ParseError
                parsed.refused = f"not valid XML: {exc}"
                yield parsed
                continue
            if root_elem.tag != "annotation":
                parsed.refused = (
                    f"not a Pascal VOC annotation: the XML's root is <{root_elem.tag[:40]}>, not <annotation>"
                )
                yield parsed
                continue
            filename = (root_elem.findtext("filename") or "").strip()
            parsed.image_name = filename or path.stem
            parsed.width = _int(root_elem.findtext("size/width"))
            parsed.height = _int(root_elem.findtext("size/height"))
            for number, obj in enumerate(root_elem.findall("object"), start=1):
                parsed.shapes.append(_object(obj, number))
            yield parsed

    def _masks(self, root: Path) -> Iterator[ParsedFile]:
        colors = read_labelmap(root)
        inverse_palette = {tuple(int(c) for c in PALETTE[i]): i for i in range(1, 255)}
        for path in files_under(root, ".png"):
            if path.parent.name != "SegmentationObject":
                continue
            rel = str(path.relative_to(root))
            parsed = ParsedFile(rel, path.stem)
            class_path = path.parent.parent / "SegmentationClass" / path.name
            if isinstance(colors, str) or not class_path.is_file():
                parsed.refused = colors if isinstance(colors, str) else f"no SegmentationClass/{path.name} beside it"
                yield parsed
                continue
            instances = cv2.imread(str(path), cv2.IMREAD_COLOR)
            classes = cv2.imread(str(class_path), cv2.IMREAD_COLOR)
            if instances is None or classes is None or instances.shape != classes.shape:
                parsed.refused = "the instance and class PNGs are unreadable or of different sizes"
                yield parsed
                continue
            parsed.height, parsed.width = instances.shape[:2]
            instances_rgb = instances[..., ::-1]
            classes_rgb = classes[..., ::-1]
            for color in np.unique(instances_rgb.reshape(-1, 3), axis=0):
                key = tuple(int(c) for c in color)
                if key == (0, 0, 0) or key == (224, 224, 192):  # background, VOC "void" border
                    continue
                number = inverse_palette.get(key)
                where = f"instance {number if number is not None else key}"
                inside = np.all(instances_rgb == color, axis=2)
                class_colors, counts = np.unique(classes_rgb[inside].reshape(-1, 3), axis=0, return_counts=True)
                class_name = colors.get(tuple(int(c) for c in class_colors[int(np.argmax(counts))]))
                shape = ParsedShape(type="mask", geometry={}, where=where, class_name=class_name)
                if class_name is None:
                    shape.problems.append("its SegmentationClass colour is not in labelmap.txt")
                else:
                    shape.geometry = {"polygons": geometry.mask_to_polygons(inside)}
                parsed.shapes.append(shape)
            yield parsed


def _int(text: str | None) -> int | None:
    try:
        return int(float(text)) if text is not None else None
    except ValueError:
        return None


def _object(obj, number: int) -> ParsedShape:
    name = (obj.findtext("name") or "").strip()
    shape = ParsedShape(type="bbox", geometry={}, where=f"object {number}", class_name=name or None)
    if not name:
        shape.problems.append("object without a name")
        return shape
    try:
        x0, y0, x1, y1 = (float(obj.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax"))
    except (TypeError, ValueError):
        shape.problems.append("bndbox needs numeric xmin, ymin, xmax, ymax")
        return shape
    shape.geometry = {"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0}
    if (obj.findtext("difficult") or "0").strip() == "1":
        shape.attributes["difficult"] = True
    return shape
