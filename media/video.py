"""Video with PyAV: probe, frame timetable, exact frame decode, playback copy.

Timestamps are the truth: a frame's index is its rank by presentation timestamp (pts),
its time is its pts in the stream's time base, never ``index / fps`` (variable frame rate
video is common). The timetable comes first from demuxing alone (pts, keyframe flag, byte
offset: fast), then a decode pass adds each frame's picture type and, for sources a
browser cannot play, feeds the same decoded frames to an H.264 encoder.

Colour: every RGB picture comes from ``VideoFrame.to_ndarray(format="rgb24")`` (PyAV's
swscale path, which honours the stream's colour matrix) — one conversion path for the
workspace, SAM and exports.

Orientation: phones store portrait video as landscape pictures plus a display matrix
("rotate 90° clockwise"). Every picture is turned as that matrix says (:func:`frame_rgb`), so
the frames, their width and height, the poster, the playback copy and every coordinate drawn
on them are upright, as players show the video. Angles other than quarter turns are ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.frame import PictureType

logger = logging.getLogger(__name__)

# Decoder name reported as the frame timetable's "source".
TIMETABLE_SOURCE = "pyav"
DEMUX_ONLY_SOURCE = "pyav-demux"

# Containers + codec + pixel format that browsers play reliably without a copy.
BROWSER_SAFE_CONTAINERS = {"mp4", "mov"}
BROWSER_SAFE_CODECS = {"h264"}
BROWSER_SAFE_PIX_FMTS = {"yuv420p", "yuvj420p"}


class VideoError(Exception):
    """The file is not a video we can read (message says why)."""


@dataclass
class TimetableEntry:
    pts: int
    is_keyframe: bool
    byte_offset: int | None
    duration: int | None = None


@dataclass
class VideoProbe:
    container: str
    codec: str
    pix_fmt: str
    width: int
    height: int
    time_base: Fraction
    entries: list[TimetableEntry] = field(default_factory=list)
    poster: np.ndarray | None = None
    rotation: int = 0  # degrees counterclockwise from the display matrix (0, 90, 180 or 270)

    @property
    def start_pts(self) -> int:
        return self.entries[0].pts if self.entries else 0

    @property
    def frame_count(self) -> int:
        return len(self.entries)

    def pts_ms(self, pts: int) -> float:
        """Milliseconds from the first frame (frame 0 is at 0 ms)."""
        return round(float((pts - self.start_pts) * self.time_base * 1000), 3)

    @property
    def duration_ms(self) -> int:
        if not self.entries:
            return 0
        last = self.entries[-1]
        step = last.duration
        if not step and len(self.entries) > 1:
            step = last.pts - self.entries[-2].pts
        return round(float((last.pts + (step or 0) - self.start_pts) * self.time_base * 1000))

    @property
    def fps(self) -> float:
        """Average frame rate measured on the timestamps (containers' rates lie for VFR)."""
        if self.frame_count < 2:
            return 0.0
        span = float((self.entries[-1].pts - self.start_pts) * self.time_base)
        return round((self.frame_count - 1) / span, 3) if span > 0 else 0.0

    @property
    def browser_safe(self) -> bool:
        return (
            self.container in BROWSER_SAFE_CONTAINERS
            and self.codec in BROWSER_SAFE_CODECS
            and self.pix_fmt in BROWSER_SAFE_PIX_FMTS
        )


def _container_name(container) -> str:
    names = container.format.name.split(",")
    if "mp4" in names or "mov" in names:
        return "mp4"
    if "matroska" in names:
        return "webm" if "webm" in names else "matroska"
    return names[0]


def _video_stream(container):
    if not container.streams.video:
        raise VideoError("the file has no video stream")
    return container.streams.video[0]


def demux_timetable(container, stream) -> list[TimetableEntry]:
    """(pts, keyframe, byte offset) of every frame in presentation order, by demuxing only."""
    entries: list[TimetableEntry] = []
    seen: set[int] = set()
    fallback = 0
    for packet in container.demux(stream):
        if packet.size == 0:  # flush packet
            continue
        if packet.is_discard:  # dropped by an edit list, never presented
            continue
        pts = packet.pts if packet.pts is not None else packet.dts
        if pts is None:
            pts = fallback
        fallback = pts + 1
        if pts in seen:
            continue
        seen.add(pts)
        entries.append(
            TimetableEntry(
                pts=pts,
                is_keyframe=bool(packet.is_keyframe),
                byte_offset=packet.pos if packet.pos is not None and packet.pos >= 0 else None,
                duration=packet.duration or None,
            )
        )
    entries.sort(key=lambda entry: entry.pts)
    return entries


def probe_video(path: Path | str, *, max_pixels: int, max_seconds: int) -> VideoProbe:
    """Open a video, build its demuxed timetable and decode its first frame (the poster).

    Raises VideoError with a reason a person can act on.
    """
    try:
        container = av.open(str(path))
    except av.FFmpegError as exc:
        raise VideoError(f"not a readable video ({exc.strerror or type(exc).__name__})") from None
    with container:
        stream = _video_stream(container)
        ctx = stream.codec_context
        if not ctx.width or not ctx.height:
            raise VideoError("the video stream has no picture size")
        if ctx.width * ctx.height > max_pixels:
            raise VideoError(f"frames of {ctx.width}x{ctx.height} exceed the limit of {max_pixels:,} pixels")
        probe = VideoProbe(
            container=_container_name(container),
            codec=ctx.name,
            pix_fmt=ctx.pix_fmt or "",
            width=ctx.width,
            height=ctx.height,
            time_base=stream.time_base or Fraction(1, 1000),
        )
        try:
            probe.entries = demux_timetable(container, stream)
        except av.FFmpegError as exc:
            raise VideoError(f"the video stream is damaged ({exc.strerror or type(exc).__name__})") from None
        if not probe.entries:
            raise VideoError("the video has no frames")
        if probe.duration_ms > max_seconds * 1000:
            raise VideoError(f"the video lasts {probe.duration_ms / 1000:.0f} s; the limit is {max_seconds} s")
    first = first_frame(path)
    if first is None:
        raise VideoError(f"no frame of the {probe.codec} stream could be decoded")
    probe.poster = frame_rgb(first)
    probe.rotation = quarter_turns(first) * 90
    probe.height, probe.width = probe.poster.shape[:2]  # upright: a portrait phone video is portrait
    return probe


def _open_for_decode(path: Path | str):
    container = av.open(str(path))
    stream = _video_stream(container)
    stream.thread_type = "AUTO"
    return container, stream


def quarter_turns(frame: av.VideoFrame) -> int:
    """Quarter turns counterclockwise (0-3) that the frame's display matrix asks for."""
    turns, rest = divmod(round(frame.rotation), 90)
    return turns % 4 if rest == 0 else 0


def frame_rgb(frame: av.VideoFrame, *, upright: bool = True) -> np.ndarray:
    """The frame as upright RGB (see the module docstring); ``upright=False`` leaves it as
    stored (videos ingested before rotation was applied keep the frames they were annotated on)."""
    picture = frame.to_ndarray(format="rgb24")
    turns = quarter_turns(frame) if upright else 0
    return np.ascontiguousarray(np.rot90(picture, turns)) if turns else picture


def first_frame(path: Path | str) -> av.VideoFrame | None:
    try:
        container, stream = _open_for_decode(path)
    except (av.FFmpegError, VideoError):
        return None
    with container:
        try:
            for frame in container.decode(stream):
                return frame
        except av.FFmpegError:
            return None
    return None


def picture_type_name(value: int) -> str:
    try:
        name = PictureType(value).name
    except ValueError:
        return ""
    return "" if name == "NONE" else name[:2]


@dataclass
class DecodedFrame:
    pts: int | None
    pict_type: str
    is_keyframe: bool


def decode_pass(
    path: Path | str,
    *,
    on_frame: Callable[[av.VideoFrame], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[DecodedFrame]:
    """Decode every frame once (presentation order): picture types, and each frame handed
    to ``on_frame`` (the playback encoder) when given."""
    out: list[DecodedFrame] = []
    container, stream = _open_for_decode(path)
    with container:
        for frame in container.decode(stream):
            out.append(DecodedFrame(frame.pts, picture_type_name(int(frame.pict_type)), bool(frame.key_frame)))
            if on_frame is not None:
                on_frame(frame)
            if progress is not None and len(out) % 50 == 0:
                progress(len(out))
    return out


def _seek_and_decode(container, stream, target_pts: int, start_pts: int) -> Iterator[av.VideoFrame]:
    """Decode from the keyframe at or before ``target_pts``; re-seek earlier when the
    demuxer lands after the target (seen with MPEG-4 in AVI and B-frames)."""
    seek_to = target_pts
    step = max(1, int(1 / stream.time_base)) if stream.time_base else 1
    for _ in range(6):
        container.seek(max(seek_to, 0), stream=stream, backward=True, any_frame=False)
        frames = container.decode(stream)
        first = next(frames, None)
        if first is None:
            return
        if first.pts is not None and first.pts > target_pts and seek_to > start_pts:
            seek_to -= step  # landed past the target: go back a second and try again
            step *= 2
            continue
        yield first
        yield from frames
        return
    container.seek(0, stream=stream, backward=True, any_frame=False)
    yield from container.decode(stream)


def frames_rgb_by_pts(
    path: Path | str, targets: Iterable[int], *, start_pts: int = 0, upright: bool = True
) -> Iterator[np.ndarray]:
    """RGB pictures of the frames with these pts, in ascending pts order: one seek to the
    preceding keyframe, then decoding forward; a gap of more than a few seconds seeks again
    instead of decoding through it. Raises VideoError when a pts is not in the stream."""
    wanted = sorted(set(targets))
    if not wanted:
        return
    container, stream = _open_for_decode(path)
    with container:
        position = 0
        while position < len(wanted):
            for frame in _seek_and_decode(container, stream, wanted[position], start_pts):
                if frame.pts is None or frame.pts < wanted[position]:
                    continue
                if frame.pts > wanted[position]:
                    raise VideoError(f"no frame at pts {wanted[position]} (next is {frame.pts})")
                yield frame_rgb(frame, upright=upright)
                position += 1
                if position == len(wanted) or (wanted[position] - frame.pts) * stream.time_base > 5:
                    break
            else:
                raise VideoError(f"no frame at pts {wanted[position]} before the end of the stream")


def frames_rgb_by_index(path: Path | str, indexes: Iterable[int], *, upright: bool = True) -> Iterator[np.ndarray]:
    """RGB pictures by decode order (for streams without usable timestamps)."""
    wanted = sorted(set(indexes))
    if not wanted:
        return
    container, stream = _open_for_decode(path)
    with container:
        position = 0
        for number, frame in enumerate(container.decode(stream)):
            if number == wanted[position]:
                yield frame_rgb(frame, upright=upright)
                position += 1
                if position == len(wanted):
                    return
    raise VideoError(f"frame {wanted[position]} is beyond the end of the video")


class PlaybackEncoder:
    """H.264 yuv420p MP4 with +faststart, keeping the source's timestamps (VFR stays VFR,
    frame N of the copy is frame N of the source). ``width`` and ``height`` are upright; a
    rotated source's pictures are turned upright here (the copy has no display matrix)."""

    def __init__(self, path: Path | str, *, width: int, height: int, time_base: Fraction, start_pts: int, **opts):
        self.width = width - width % 2
        self.height = height - height % 2
        self.start_pts = start_pts
        self.time_base = time_base
        self.container = av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"})
        self.stream = self.container.add_stream("libx264")
        self.stream.width = self.width
        self.stream.height = self.height
        self.stream.pix_fmt = "yuv420p"
        self.stream.time_base = time_base
        self.stream.codec_context.time_base = time_base
        self.stream.options = {"preset": opts.get("preset", "veryfast"), "crf": str(opts.get("crf", 23))}
        self._last_pts: int | None = None

    def add(self, frame: av.VideoFrame) -> None:
        pts = frame.pts if frame.pts is not None else (self._last_pts or 0) + 1
        if quarter_turns(frame):
            frame = av.VideoFrame.from_ndarray(frame_rgb(frame), format="rgb24")
        out = frame.reformat(width=self.width, height=self.height, format="yuv420p")
        out.pts = pts - self.start_pts
        if self._last_pts is not None and out.pts <= self._last_pts:
            out.pts = self._last_pts + 1  # the encoder needs increasing timestamps
        out.time_base = self.time_base
        self._last_pts = out.pts
        for packet in self.stream.encode(out):
            self.container.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()
