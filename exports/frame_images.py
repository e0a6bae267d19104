"""The pictures of frames: the one adapter between exports and the media app.

``media.selectors.frame_image(task, index)`` (RGB uint8) is used when the media app
provides it; until then frames are decoded here from the stored asset: images with
OpenCV, video frames with PyAV (decoded forward, so a sequential export decodes each
frame once), DICOM slices with pydicom (windowed to 8 bits).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from django.core.files.storage import default_storage

# Extensions kept as they are (the original file is copied, never re-encoded).
ORIGINAL_IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


def _media_frame_image() -> Callable | None:
    try:
        from media.selectors import frame_image  # type: ignore[attr-defined]
    except ImportError:
        return None
    return frame_image


def read_stored(path: str) -> bytes:
    with default_storage.open(path, "rb") as handle:
        return handle.read()


def decode_image_bytes(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("the stored image could not be decoded")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class FrameDecoder:
    """Decodes the frames of one export in order; keeps at most one video open."""

    def __init__(self) -> None:
        self._media = _media_frame_image()
        self._video_path: str | None = None
        self._video_iter = None
        self._video_container = None
        self._video_next = 0

    def loader(self, frame) -> Callable[[], np.ndarray]:
        return lambda: self.decode(frame)

    def decode(self, frame) -> np.ndarray:
        if self._media is not None:
            return self._media(frame.task, frame.index)
        asset = frame.asset
        if asset.kind == "video":
            return self._video_frame(asset.file, frame.asset_frame)
        if asset.kind == "dicom":
            return dicom_frame(read_stored(asset.file), frame.asset_frame)
        return decode_image_bytes(read_stored(asset.file))

    def _video_frame(self, path: str, number: int) -> np.ndarray:
        import av

        if path != self._video_path or number < self._video_next:
            self.close()
            self._video_container = av.open(default_storage.open(path, "rb"))
            stream = self._video_container.streams.video[0]
            stream.thread_type = "AUTO"
            self._video_iter = self._video_container.decode(stream)
            self._video_path, self._video_next = path, 0
        for decoded in self._video_iter:
            self._video_next += 1
            if self._video_next - 1 == number:
                return decoded.to_ndarray(format="rgb24")
        raise ValueError(f"frame {number} is beyond the end of the video")

    def close(self) -> None:
        if self._video_container is not None:
            self._video_container.close()
        self._video_container = self._video_iter = self._video_path = None
        self._video_next = 0


def dicom_frame(data: bytes, number: int) -> np.ndarray:
    """One slice of a DICOM file, windowed (its window, else min-max) to 8-bit RGB."""
    import io

    import pydicom

    dataset = pydicom.dcmread(io.BytesIO(data))
    pixels = dataset.pixel_array
    if getattr(dataset, "NumberOfFrames", 1) and int(getattr(dataset, "NumberOfFrames", 1)) > 1:
        pixels = pixels[number]
    if pixels.ndim == 3 and pixels.shape[-1] == 3:
        return pixels.astype(np.uint8)
    values = pixels.astype(np.float32) * float(getattr(dataset, "RescaleSlope", 1) or 1) + float(
        getattr(dataset, "RescaleIntercept", 0) or 0
    )
    center, width = getattr(dataset, "WindowCenter", None), getattr(dataset, "WindowWidth", None)
    if center is not None and width is not None:
        center = float(center[0] if isinstance(center, pydicom.multival.MultiValue) else center)
        width = float(width[0] if isinstance(width, pydicom.multival.MultiValue) else width)
        low, high = center - width / 2, center + width / 2
    else:
        low, high = float(values.min()), float(values.max())
    scaled = np.clip((values - low) / max(high - low, 1e-6) * 255.0, 0, 255).astype(np.uint8)
    return np.repeat(scaled[..., None], 3, axis=2)


def image_ext_for(asset) -> str:
    """The extension an export writes for frames of this asset."""
    if asset.kind == "image":
        ext = Path(asset.original_name or asset.file).suffix.lower()
        return ext if ext in ORIGINAL_IMAGE_EXTS else ".png"
    return ".png" if asset.kind == "dicom" else ".jpg"
