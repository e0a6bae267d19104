"""Image windows as Cytomine clients address them.

``/api/imageinstance/{id}/window-{x}-{y}-{w}-{h}.{ext}`` names a rectangle in **pixels from
the image's top-left corner** (x right, y down) — the same numbers as our own coordinates,
and *not* the bottom-left origin of annotation locations. Two sources agree on this: the
official client documents ``window(x, y, w, h)`` as "x: the X position of window top-left
corner, 0 is image left; y: the Y position of window top-left corner, 0 is image top", and
Cytomine-core's window service takes ``y`` as a top-left coordinate and converts it itself
(``topLeftY = image.height - y``) before cropping in its bottom-left space.

As Cytomine does, the rectangle is clipped to the image (negative x/y start at 0, width and
height stop at the image's edge); a rectangle with nothing left after clipping is a 400.
``?zoom=n`` divides the size by 2^n (0 = full resolution) and ``?maxSize=`` bounds the
longest side; windows are never enlarged.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MAX_ZOOM = 16
MEDIA_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "tif": "image/tiff", "tiff": "image/tiff"}
JPEG_QUALITY = 90


class EmptyWindow(ValueError):
    pass


@dataclass(frozen=True)
class Window:
    x: int
    y: int
    w: int
    h: int


def clip(x: int, y: int, w: int, h: int, width: int, height: int) -> Window:
    """The part of ``(x, y, w, h)`` inside a ``width`` x ``height`` image (top-left origin)."""
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, width), min(y + h, height)
    if x1 <= x0 or y1 <= y0:
        raise EmptyWindow(
            f"window-{x}-{y}-{w}-{h} has nothing inside the {width}x{height} image. Windows are "
            f"window-{{x}}-{{y}}-{{width}}-{{height}} in pixels from the top-left corner; the whole image is "
            f"window-0-0-{width}-{height}."
        )
    return Window(x0, y0, x1 - x0, y1 - y0)


def render(
    pixels: np.ndarray, window: Window, *, zoom: int = 0, max_size: int | None = None, ext: str = "jpg"
) -> bytes:
    """Crop ``window`` out of an RGB ``uint8`` picture, scale it down, encode it as ``ext``."""
    crop = pixels[window.y : window.y + window.h, window.x : window.x + window.w]
    scale = 1.0 / (2**zoom)
    if max_size:
        scale = min(scale, max_size / max(window.w, window.h))
    if scale < 1.0:
        size = (max(1, round(window.w * scale)), max(1, round(window.h * scale)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    bgr = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2BGR)
    suffix = {"jpeg": "jpg", "tiff": "tif"}.get(ext, ext)
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if suffix == "jpg" else []
    ok, encoded = cv2.imencode(f".{suffix}", bgr, params)
    if not ok:  # pragma: no cover - OpenCV encodes every RGB uint8 array in these formats
        raise ValueError(f"could not encode the window as {ext}")
    return encoded.tobytes()
