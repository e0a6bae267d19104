"""GT masks in: 8-bit single-channel PNGs whose pixel values are label maskids.

Only that is accepted; each file is refused with the reason otherwise:

* not a PNG (a JPEG's lossy compression changes pixel values, so maskids would be wrong);
* a colour, grey+alpha or palette PNG, or a 16-bit one (the header says so: it is not
  decoded at all);
* every pixel 0 (all background: nothing to import).

A mask whose size differs from the frame's is resized nearest-neighbour (no new maskid is
invented) and reported as adapted. Each maskid present becomes one ``mask`` annotation of
the class with that maskid: precise polygons with holes traced by
``geometry.mask_to_polygons``. maskid 0 is background ("unclassified" paints like it, so it
cannot be told apart and is not imported). A maskid no class has is refused (or, with
``unknown_classes: create``, a class ``maskid N`` is created).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from annotations import geometry
from exports.importers.base import (
    MAX_MASK_PIXELS,
    Importer,
    ParsedFile,
    ParsedShape,
    png_header,
    read_small,
)

_COLOUR_TYPES = {
    0: "greyscale",
    2: "colour (RGB)",
    3: "palette (indexed colour)",
    4: "greyscale + alpha",
    6: "colour + alpha (RGBA)",
}


def mask_refusal(data: bytes) -> str | None:
    """Why these bytes are not an 8-bit single-channel maskid PNG (None when they are)."""
    header = png_header(data)
    if header is None:
        if data[:3] == b"\xff\xd8\xff":
            return "a JPEG: GT masks must be lossless 8-bit single-channel PNGs (JPEG changes maskid values)"
        return "not a PNG: GT masks must be 8-bit single-channel PNGs"
    width, height, depth, colour = header
    if colour != 0:
        kind = _COLOUR_TYPES.get(colour, f"type {colour}")
        return f"a {kind} PNG: GT masks must be single-channel (greyscale) with maskid values"
    if depth != 8:
        return f"a {depth}-bit PNG: GT masks must be 8-bit (maskid 0-255)"
    if width * height > MAX_MASK_PIXELS or width == 0 or height == 0:
        return f"{width}x{height} pixels is not a sane mask size"
    return None


class GtMaskImporter(Importer):
    name = "gt_masks"
    title = "GT masks (8-bit maskid PNGs)"
    description = "GT_label PNGs: pixel = maskid; each maskid becomes a mask of that class"

    def parse(self, root: Path) -> Iterator[ParsedFile]:
        for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
            if path.name.startswith(".") or path.suffix.lower() in (".json", ".txt", ".md"):
                continue
            rel = str(path.relative_to(root))
            parsed = ParsedFile(rel, path.stem)
            data = read_small(path)
            if isinstance(data, str):
                parsed.refused = data
                yield parsed
                continue
            reason = mask_refusal(data)
            if reason:
                parsed.refused = reason
                yield parsed
                continue
            mask = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
            if mask is None or mask.ndim != 2 or mask.dtype != np.uint8:
                parsed.refused = "the PNG could not be decoded as 8-bit single-channel"
                yield parsed
                continue
            if not mask.any():
                parsed.refused = "every pixel is 0 (background): nothing to import"
                yield parsed
                continue
            parsed.height, parsed.width = mask.shape
            parsed.mask = mask  # shapes are traced once the frame (and its size) is known
            yield parsed


def mask_shapes(mask: np.ndarray, width: int, height: int) -> tuple[list[ParsedShape], list[str]]:
    """The file's shapes on a ``width`` x ``height`` frame, and notes on adaptations."""
    notes = []
    if mask.shape != (height, width):
        notes.append(f"mask is {mask.shape[1]}x{mask.shape[0]}, frame is {width}x{height}: resized (nearest neighbour)")
        mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)
    shapes = []
    for maskid in np.unique(mask):
        if maskid == 0:
            continue
        polygons = geometry.mask_to_polygons(mask == maskid)
        shape = ParsedShape("mask", {"polygons": polygons}, maskid=int(maskid), where=f"maskid {int(maskid)}")
        if not polygons:  # pragma: no cover - every present value has at least one pixel
            shape.problems.append("no pixel left after resizing")
        shapes.append(shape)
    if not shapes:
        notes.append("no maskid left after resizing")
    return shapes, notes
