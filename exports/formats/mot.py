"""MOT (CVAT-style MOT 1.1) for video tracks: one sequence per task.

```
<sequence>/gt/gt.txt      frame,track_id,x,y,w,h,not_ignored,class_id,visibility
<sequence>/gt/labels.txt  class names, class_id = line number (1-based)
<sequence>/img1/000001.jpg ...
<sequence>/seqinfo.ini
```
An export of a single task writes the sequence at the top of the archive (``gt/``,
``img1/``), as CVAT does. ``frame`` is 1-based. Every visible frame of a ``video_track`` is
written (interpolated frames computed by ``geometry.track_frames``; frames where the
object is absent are left out); per-frame boxes and other area shapes are written with
their object id as track (a shape without one gets its own track). ``visibility`` is 1,
or 0 where the object is occluded. Track ids are renumbered 1, 2, ... per sequence.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable

from exports.formats.base import ExportContext, Exporter, ExportFrame


class _Sequence:
    def __init__(self, folder: str, frame: ExportFrame) -> None:
        self.folder = folder
        self.task_id = frame.task_id
        self.width, self.height = frame.width, frame.height
        self.image_ext = frame.image_ext
        self.name = frame.video_name
        self.lines = tempfile.TemporaryFile()  # noqa: SIM115 - closed in finish()
        self.tracks: dict[str, int] = {}
        self.frames = 0

    def track_number(self, key: str) -> int:
        return self.tracks.setdefault(key, len(self.tracks) + 1)

    def finish(self, writer, ctx: ExportContext) -> None:
        self.lines.seek(0)
        with writer.open(f"{self.folder}gt/gt.txt") as handle:
            while chunk := self.lines.read(1 << 20):
                handle.write(chunk)
        self.lines.close()
        writer.write(f"{self.folder}gt/labels.txt", "".join(f"{label.name}\n" for label in ctx.labels).encode())
        seqinfo = (
            "[Sequence]\n"
            f"name={self.name}\nimDir=img1\nseqLength={self.frames}\n"
            f"imWidth={self.width}\nimHeight={self.height}\nimExt={self.image_ext}\n"
        )
        writer.write(f"{self.folder}seqinfo.ini", seqinfo.encode())


class MotTracks(Exporter):
    name = "mot"
    title = "MOT tracks (CVAT MOT 1.1)"
    description = "gt/gt.txt (frame, track id, box, visibility), gt/labels.txt, img1/ per video"
    kinds = frozenset({"area"})

    def export(self, frames: Iterable[ExportFrame], writer, ctx: ExportContext) -> None:
        class_ids = {label.id: number for number, label in enumerate(ctx.labels, start=1)}
        single = ctx.task_count == 1
        sequence: _Sequence | None = None
        for frame in frames:
            if sequence is None or sequence.task_id != frame.task_id:
                if sequence is not None:
                    sequence.finish(writer, ctx)
                folder = "" if single else f"{frame.video_name}_t{frame.task_id}/"
                sequence = _Sequence(folder, frame)
            sequence.frames += 1
            rows = []
            for shape in frame.shapes:
                if shape.kind != "area" or shape.label is None:
                    ctx.skip(f"{shape.type} has no MOT form" if shape.label else "no label")
                    continue
                key = shape.track_id or f"annotation-{shape.annotation_id}"
                x, y, w, h = shape.bbox
                rows.append(
                    f"{frame.number},{sequence.track_number(key)},{x:.2f},{y:.2f},{w:.2f},{h:.2f},1,"
                    f"{class_ids[shape.label.id]},{0 if shape.occluded else 1}\n"
                )
            ctx.annotation_count += len(rows)
            sequence.lines.write("".join(rows).encode())
            if ctx.include_images:
                writer.write(f"{sequence.folder}img1/{frame.number:06d}{frame.image_ext}", frame.image_bytes())
            ctx.on_frame(frame)
        if sequence is not None:
            sequence.finish(writer, ctx)
