"""Turning checked files into the task they will become (before anything is saved).

Each ``prepare_*`` function decodes what it must, writes derived files (thumbnails,
posters; names fixed by content hash, so a retry rewrites the same files) and returns a
``PreparedTask``; or raises ``Refusal`` naming the file and the reason. Nothing reaches the
database here: ``media.services.ingest`` saves a prepared task in one transaction.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings

from media import dicom, images, video
from media.models import AssetKind, AssetStatus, ImportFile
from media.sniff import Sniffed
from media.storage import local_file, put_file, relative_to_project
from projects.models import Project


class Refusal(Exception):
    """A file (or its whole group) is refused; ``item`` is the file that caused it."""

    def __init__(self, code: str, reason: str, item: ImportFile | None = None):
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.item = item


@dataclass
class Candidate:
    """A file that passed the quick checks, waiting for its group."""

    item: ImportFile
    sniffed: Sniffed
    content_hash: str
    size: int
    header: dicom.DicomHeader | None = None

    @property
    def name(self) -> str:
        return self.item.name

    @property
    def folder(self) -> str:
        return str(PurePosixPath(self.item.name).parent).strip(".")


@dataclass
class PreparedAsset:
    candidate: Candidate
    kind: str
    file: str
    width: int | None = None
    height: int | None = None
    frame_count: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    thumbnail_path: str = ""
    poster_path: str = ""
    status: str = AssetStatus.READY
    frames: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PreparedTask:
    name: str
    assets: list[PreparedAsset]
    text: str = ""
    derived: list[str] = field(default_factory=list)  # files written, deleted if refused
    needs_video_processing: bool = False


def _thumb_path(project: Project, content_hash: str, suffix: str = "") -> str:
    return f"{project.storage_prefix}/thumbnails/{content_hash}{suffix}.jpg"


def _refuse(exc: Exception, candidate: Candidate, default_code: str = "undecodable") -> Refusal:
    return Refusal(getattr(exc, "code", default_code), str(exc), candidate.item)


# --- images --------------------------------------------------------------------------------
def prepare_images(project: Project, name: str, candidates: list[Candidate], written: list[str]) -> PreparedTask:
    """One image, or a folder of images (sequence / multi-image task) in natural name order."""
    prepared = PreparedTask(name=name, assets=[], derived=written)
    ordered = sorted(candidates, key=lambda c: dicom.natural_key(c.name)) if len(candidates) > 1 else candidates
    for index, candidate in enumerate(ordered):
        try:
            with local_file(candidate.item.stored_path) as path:
                probe = images.probe_image(path, max_pixels=settings.MEDIA_MAX_IMAGE_PIXELS)
        except images.ImageError as exc:
            raise _refuse(exc, candidate) from None
        thumb = put_file(
            _thumb_path(project, candidate.content_hash), images.thumbnail(probe.picture, settings.MEDIA_THUMBNAIL_SIZE)
        )
        prepared.derived.append(thumb)
        prepared.assets.append(
            PreparedAsset(
                candidate=candidate,
                kind=AssetKind.IMAGE,
                file=candidate.item.stored_path,
                width=probe.width,
                height=probe.height,
                frame_count=1,
                metadata={"format": probe.format, "mode": probe.mode, "exif_orientation": probe.orientation},
                thumbnail_path=thumb,
                frames=[{"index": index, "asset_frame": 0, "width": probe.width, "height": probe.height}],
            )
        )
    return prepared


# --- video ---------------------------------------------------------------------------------
def video_metadata(probe: video.VideoProbe, *, playback_path: str | None, playback_codec: str | None, poster: str):
    """The task-platform contract's standard ``video_metadata`` (paths relative to the
    project's storage prefix)."""
    return {
        "duration_ms": probe.duration_ms,
        "fps": probe.fps,
        "frame_count": probe.frame_count,
        "width": probe.width,
        "height": probe.height,
        "codec": probe.codec,
        "playback_path": playback_path,
        "playback_codec": playback_codec,
        "poster_frame_path": poster,
        "frame_timetable_frame_count": probe.frame_count,
    }


def prepare_video(project: Project, candidate: Candidate, written: list[str]) -> PreparedTask:
    """Probe a video: demuxed timetable (pts, keyframes, byte offsets), poster, thumbnail.
    Picture types and the playback copy follow in ``media.actors.process_video``."""
    try:
        with local_file(candidate.item.stored_path) as path:
            probe = video.probe_video(
                path, max_pixels=settings.MEDIA_MAX_VIDEO_PIXELS, max_seconds=settings.MEDIA_MAX_VIDEO_SECONDS
            )
    except video.VideoError as exc:
        message = str(exc)
        code = "too_many_pixels" if "pixels" in message else "too_long" if "lasts" in message else "undecodable"
        raise Refusal(code, message, candidate.item) from None
    poster = put_file(
        _thumb_path(project, candidate.content_hash, "-poster"),
        images.encode(probe.poster, "jpeg", quality=settings.MEDIA_JPEG_QUALITY),
    )
    written.append(poster)
    thumb = put_file(
        _thumb_path(project, candidate.content_hash), images.thumbnail(probe.poster, settings.MEDIA_THUMBNAIL_SIZE)
    )
    written.append(thumb)
    metadata = {
        "video_metadata": video_metadata(
            probe,
            playback_path=None,
            playback_codec="h264" if probe.browser_safe else None,
            poster=relative_to_project(project, poster),
        ),
        "container": probe.container,
        "pix_fmt": probe.pix_fmt,
        "time_base": f"{probe.time_base.numerator}/{probe.time_base.denominator}",
        "start_pts": probe.start_pts,
        "browser_safe": probe.browser_safe,
        "rotation": probe.rotation,  # applied: frames and sizes are upright
        "timetable_source": video.DEMUX_ONLY_SOURCE,
    }
    frames = [
        {
            "index": index,
            "asset_frame": index,
            "width": probe.width,
            "height": probe.height,
            "pts_ms": float((entry.pts - probe.start_pts) * probe.time_base * 1000),
            "is_keyframe": entry.is_keyframe,
            "pict_type": "",
            "byte_offset": entry.byte_offset,
            "metadata": {"pts": entry.pts},
        }
        for index, entry in enumerate(probe.entries)
    ]
    asset = PreparedAsset(
        candidate=candidate,
        kind=AssetKind.VIDEO,
        file=candidate.item.stored_path,
        width=probe.width,
        height=probe.height,
        frame_count=probe.frame_count,
        metadata=metadata,
        thumbnail_path=thumb,
        poster_path=poster,
        status=AssetStatus.PROCESSING,
        frames=frames,
    )
    return PreparedTask(
        name=PurePosixPath(candidate.name).name,
        assets=[asset],
        derived=written,
        needs_video_processing=True,
    )


# --- DICOM ---------------------------------------------------------------------------------
def _deidentify(project: Project, candidate: Candidate, job_id: int) -> str:
    """Strip patient identity: in place for our own copy, into the project for registered files."""
    source = candidate.item.stored_path
    target = source if candidate.item.owned else f"{project.storage_prefix}/originals/{job_id}/{candidate.name}"
    with local_file(source) as path, tempfile.NamedTemporaryFile(suffix=".dcm") as tmp:
        dicom.strip_patient_identity(path, tmp.name)
        with open(tmp.name, "rb") as handle:
            put_file(target, handle)
    return target


def prepare_dicom_series(
    project: Project, name: str, candidates: list[Candidate], written: list[str], *, job_id: int
) -> PreparedTask:
    """A series: files ordered (InstanceNumber / position / natural names), every frame
    decoded once (decodability), multi-frame files expanded, a thumbnail of the middle
    slice, patient identity stripped when the project says so."""
    ordered = dicom.order_series([(c.name, c.header) for c in candidates])
    by_name = {c.name: c for c in candidates}
    prepared = PreparedTask(name=name, assets=[], derived=written)
    low, high = float("inf"), float("-inf")
    index = 0
    middle = None
    total_frames = sum(h.frames for _, h in ordered)
    measure = any(dicom.needs_value_range(h) for _, h in ordered)
    for file_name, header in ordered:
        candidate = by_name[file_name]
        frames = []
        try:
            with local_file(candidate.item.stored_path) as path:
                for frame_no, (values, ds) in enumerate(dicom.iter_frame_values(path)):
                    if measure and header.samples_per_pixel == 1:
                        f_low, f_high = dicom.value_range(dicom.modality_values(values, ds))
                        low, high = min(low, f_low), max(high, f_high)
                    if index == total_frames // 2:
                        middle = (values, ds)
                    frames.append(
                        {
                            "index": index,
                            "asset_frame": frame_no,
                            "width": header.columns,
                            "height": header.rows,
                            "metadata": _slice_metadata(header, frame_no),
                        }
                    )
                    index += 1
        except dicom.DicomError as exc:
            raise _refuse(exc, candidate) from None
        stored = (
            _deidentify(project, candidate, job_id) if project.strip_patient_identity else candidate.item.stored_path
        )
        if stored != candidate.item.stored_path:
            prepared.derived.append(stored)
        prepared.assets.append(
            PreparedAsset(
                candidate=candidate,
                kind=AssetKind.DICOM,
                file=stored,
                width=header.columns,
                height=header.rows,
                frame_count=header.frames,
                metadata={
                    "dicom": {
                        "sop_instance_uid": header.sop_instance_uid,
                        "instance_number": header.instance_number,
                        "frames": header.frames,
                    }
                },
                frames=frames,
            )
        )
    series_range = (low, high) if low <= high else None
    first = ordered[0][1]
    series = dicom.series_metadata(first, slices=index)
    series["value_range"] = list(series_range) if series_range else None
    series["patient_identity_stripped"] = bool(project.strip_patient_identity)
    for asset in prepared.assets:
        asset.metadata["series"] = series
    if middle is not None:
        picture = dicom.render(middle[0], middle[1], series_range=series_range)
        thumb = put_file(
            _thumb_path(project, prepared.assets[0].candidate.content_hash),
            images.thumbnail(picture, settings.MEDIA_THUMBNAIL_SIZE),
        )
        prepared.assets[0].thumbnail_path = thumb
        prepared.derived.append(thumb)
    return prepared


def _slice_metadata(header: dicom.DicomHeader, frame_no: int) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if header.instance_number is not None:
        meta["instance_number"] = header.instance_number
    if header.position is not None:
        meta["image_position"] = header.position
    position = header.slice_position()
    if position is not None:
        meta["slice_position"] = round(position, 4)
    if header.frames > 1:
        meta["frame_in_file"] = frame_no
    return meta


def dicom_task_name(candidates: list[Candidate]) -> str:
    header = candidates[0].header
    folder = candidates[0].folder
    if header is not None and header.series_description:
        label = header.series_description
    elif folder:
        label = PurePosixPath(folder).name
    elif len(candidates) == 1:
        label = PurePosixPath(candidates[0].name).name
    else:
        label = f"series {header.series_instance_uid[-12:]}" if header and header.series_instance_uid else "series"
    modality = header.modality if header is not None else ""
    return f"{modality} {label}".strip()[:500]


# --- text ----------------------------------------------------------------------------------
def _decode_text(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8")


def prepare_text(project: Project, candidate: Candidate, written: list[str]) -> PreparedTask:
    if candidate.size > settings.MEDIA_MAX_TEXT_BYTES:
        raise Refusal(
            "too_large",
            f"{candidate.size:,} bytes of text; the limit is {settings.MEDIA_MAX_TEXT_BYTES:,}",
            candidate.item,
        )
    with local_file(candidate.item.stored_path) as path:
        data = path.read_bytes()
    try:
        text = _decode_text(data)
    except UnicodeDecodeError as exc:
        raise Refusal("not_utf8", f"the text is not UTF-8 (byte {exc.start})", candidate.item) from None
    if "\x00" in text:
        raise Refusal("not_utf8", "the text contains NUL characters (a binary file?)", candidate.item)
    asset = PreparedAsset(
        candidate=candidate,
        kind=AssetKind.TEXT,
        file=candidate.item.stored_path,
        metadata={"characters": len(text), "lines": text.count("\n") + 1},
    )
    return PreparedTask(name=PurePosixPath(candidate.name).name, assets=[asset], text=text, derived=written)
