"""The pictures of frames: the one adapter between exports and the media app.

Frames are decoded by ``media.selectors`` (images, video frames at their real index, DICOM
slices windowed to 8 bits). Exports ask for frames in task order, so a task's frames come
from one forward iterator (``iter_frame_images``): a video is decoded once from one seek
rather than re-opened per frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from django.core.files.storage import default_storage

from media import selectors as media

# Extensions kept as they are (the original file is copied, never re-encoded).
ORIGINAL_IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


def read_stored(path: str) -> bytes:
    with default_storage.open(path, "rb") as handle:
        return handle.read()


class FrameDecoder:
    """Decodes the frames of one export in order, one task iterator at a time."""

    def __init__(self) -> None:
        self._task_id: int | None = None
        self._iterator: Iterator[tuple[int, np.ndarray]] | None = None
        self._next_index = 0

    def loader(self, frame) -> Callable[[], np.ndarray]:
        return lambda: self.decode(frame)

    def decode(self, frame) -> np.ndarray:
        if frame.asset.kind == "image":
            return media.frame_image(frame.task, frame.index)
        if frame.task_id != self._task_id or frame.index < self._next_index:
            self._task_id = frame.task_id
            self._iterator = media.iter_frame_images(frame.task, start=frame.index)
        for index, picture in self._iterator:
            self._next_index = index + 1
            if index == frame.index:
                return picture
        raise ValueError(f"task {frame.task_id} has no frame {frame.index}")

    def close(self) -> None:
        if self._iterator is not None and hasattr(self._iterator, "close"):
            self._iterator.close()
        self._iterator = self._task_id = None
        self._next_index = 0


def image_ext_for(asset) -> str:
    """The extension an export writes for frames of this asset."""
    if asset.kind == "image":
        ext = Path(asset.original_name or asset.file).suffix.lower()
        return ext if ext in ORIGINAL_IMAGE_EXTS else ".png"
    return ".png" if asset.kind == "dicom" else ".jpg"
