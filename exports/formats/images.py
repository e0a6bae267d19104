"""Frames as image files: ``images/<subset>/<stem>.<ext>``.

Every frame of a video, DICOM series or sequence becomes an image (the real decoded frame
at that index: JPEG for video, lossless PNG for DICOM); single images are copied as they
were uploaded.
"""

from __future__ import annotations

from collections.abc import Iterable

from exports.formats.base import ExportContext, Exporter, ExportFrame


class Images(Exporter):
    name = "images"
    title = "Frames as images"
    description = "images/<subset>/<stem>.<ext>: every frame in scope as an image file"
    kinds = frozenset()

    def export(self, frames: Iterable[ExportFrame], writer, ctx: ExportContext) -> None:
        for frame in frames:
            writer.write(f"images/{frame.split or 'default'}/{frame.image_name}", frame.image_bytes())
            ctx.on_frame(frame)
