"""Still images with Pillow: probe (size after EXIF orientation, pixel limit, full decode),
RGB pictures, thumbnails and the JPEG/PNG encodings served to clients."""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow formats we ingest (content decides, not the extension).
SUPPORTED_FORMATS = {"JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "MPO"}
EXIF_ORIENTATION_TAG = 0x0112


class ImageError(Exception):
    """The file is not an image we can use (message says why); ``code`` names the reason."""

    def __init__(self, message: str, code: str = "undecodable"):
        super().__init__(message)
        self.code = code


@dataclass
class ImageProbe:
    format: str
    mode: str
    width: int  # after EXIF orientation
    height: int
    orientation: int  # EXIF orientation of the file (1 = none)
    picture: Image.Image  # decoded and oriented (any mode; see to_rgb_array)


def _bomb_refusal(exc: Exception, max_pixels: int | None) -> ImageError:
    """Pillow refuses at open an image declaring more than twice its own limit; say it in our terms."""
    found = re.search(r"\((\d+) pixels\)", str(exc))
    if found is None:
        return ImageError(str(exc), code="too_many_pixels")
    limit = max_pixels if max_pixels is not None else Image.MAX_IMAGE_PIXELS
    return ImageError(
        f"the image declares {int(found.group(1)):,} pixels, over the limit of {limit:,} (a decompression bomb?)",
        code="too_many_pixels",
    )


def _open(source: Path | str | bytes, max_pixels: int | None = None) -> Image.Image:
    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(handle)
    except UnidentifiedImageError:
        raise ImageError("not an image Pillow can read") from None
    except Image.DecompressionBombError as exc:
        raise _bomb_refusal(exc, max_pixels) from None


def to_rgb_array(image: Image.Image) -> np.ndarray:
    """An 8-bit RGB array of any Pillow image (16-bit and float greys scaled, alpha dropped)."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        if image.mode.startswith("I;16"):
            scaled = values / 257.0
        else:
            low, high = float(values.min()), float(values.max())
            scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
        grey = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image, dtype=np.uint8).copy()


def probe_image(source: Path | str | bytes, *, max_pixels: int) -> ImageProbe:
    """Check and fully decode an image; the picture comes back EXIF-oriented as RGB."""
    image = _open(source, max_pixels)
    if image.format not in SUPPORTED_FORMATS:
        raise ImageError(f"image format {image.format} is not supported", code="unsupported_type")
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(
            f"{width}x{height} = {width * height:,} pixels exceeds the limit of {max_pixels:,}",
            code="too_many_pixels",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            orientation = int(image.getexif().get(EXIF_ORIENTATION_TAG, 1) or 1)
            image.load()
            fmt, mode = image.format, image.mode
            oriented = ImageOps.exif_transpose(image) if orientation != 1 else image
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"the image data is damaged ({exc})") from None
    except Image.DecompressionBombError as exc:
        raise _bomb_refusal(exc, max_pixels) from None
    return ImageProbe(
        format=fmt.lower(),
        mode=mode,
        width=oriented.width,
        height=oriented.height,
        orientation=orientation,
        picture=oriented,
    )


def load_rgb(source: Path | str | bytes) -> np.ndarray:
    """The oriented RGB picture of a stored image (the one path for display, SAM, exports)."""
    image = _open(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return to_rgb_array(ImageOps.exif_transpose(image))


def encode(picture: np.ndarray, ext: str = "jpeg", *, quality: int = 90) -> bytes:
    """JPEG or PNG bytes of an RGB (or grey) uint8 array."""
    image = Image.fromarray(picture)
    buffer = io.BytesIO()
    if ext in ("jpg", "jpeg"):
        image.save(buffer, format="JPEG", quality=quality)
    elif ext == "png":
        image.save(buffer, format="PNG", compress_level=3)
    else:
        raise ValueError(f"unknown image encoding {ext!r}")
    return buffer.getvalue()


def thumbnail(picture: np.ndarray | Image.Image, size: int, *, quality: int = 85) -> bytes:
    """A JPEG no larger than size x size, aspect kept."""
    image = picture.copy() if isinstance(picture, Image.Image) else Image.fromarray(picture)
    if image.mode not in ("RGB", "L"):
        image = Image.fromarray(to_rgb_array(image))
    image.thumbnail((size, size), Image.Resampling.BICUBIC, reducing_gap=2.0)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
