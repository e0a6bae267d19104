"""Where ML gets a task's pictures: the media app's frame readers, nothing of its own.

``media.selectors.frame_image`` decodes one frame (video via PyAV, DICOM windowed to 8
bits, images EXIF-oriented); ``iter_frame_images`` decodes a run of frames from one seek,
which propagation uses in chunks (forward and backward).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from django.http import Http404

from media.models import Frame
from media.selectors import frame_image as media_frame_image
from media.selectors import iter_frame_images


def frames_of(task) -> list[Frame]:
    return list(Frame.objects.filter(task=task).order_by("index"))


def get_frame(task, index: int) -> Frame:
    frame = Frame.objects.filter(task=task, index=index).first()
    if frame is None:
        raise Http404(f"Task {task.pk} has no frame {index}.")
    return frame


def embedding_key(frame: Frame) -> tuple[str, int, int]:
    """Identity of a picture for the embedding cache: media (asset) + frame in it.

    Scoped to the asset row, hence to one organization: a cache hit never tells anybody
    that another tenant holds the same picture.
    """
    return ("asset", frame.asset_id, frame.asset_frame)


def frame_image(task, index: int) -> np.ndarray:
    """RGB ``uint8 (H, W, 3)`` of a task's frame."""
    return np.ascontiguousarray(media_frame_image(task, index))


def frame_run(task, start: int, stop: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, RGB)`` for frames ``start <= index < stop`` (sequential decoding)."""
    for index, picture in iter_frame_images(task, start, stop):
        yield index, np.ascontiguousarray(picture)
