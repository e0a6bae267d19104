"""What every format plug-in receives and implements.

An exporter is handed an iterator of :class:`ExportFrame` (one picture: an image, or one
frame of a video / DICOM series / sequence, with the shapes on it and their labels) and an
:class:`~exports.writers.ArchiveWriter` that streams files into a zip or a folder. It
writes each file as soon as it is produced and keeps at most one frame's pixels alive, so
memory stays bounded whatever the size of the project.

Coordinates are pixels of the frame (origin top-left, x right, y down, continuous: pixel
(i, j) covers [i, i+1) x [j, j+1)); every mask is drawn by ``annotations.geometry``.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import cv2
import numpy as np
from django.core.exceptions import ValidationError

from annotations import geometry

SPLITS = ("train", "val", "test")


@dataclass(frozen=True, slots=True)
class ExportLabel:
    id: int
    name: str
    color: str
    maskid: int
    z_order: int
    category: str = ""
    keypoints: dict = field(default_factory=dict)

    @property
    def rgb(self) -> tuple[int, int, int]:
        value = self.color.lstrip("#")
        return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)

    @property
    def keypoint_names(self) -> list[str]:
        return list((self.keypoints or {}).get("names") or [])

    @property
    def keypoint_edges(self) -> list[list[int]]:
        return [list(edge) for edge in (self.keypoints or {}).get("edges") or []]


@dataclass(slots=True)
class ExportShape:
    """One shape on one frame, in pixels. ``kind`` says which geometry field is set:

    * ``area`` — ``polygons`` (multipolygon with holes) or ``rle`` (COCO RLE of the frame);
      boxes, rotated boxes, polygons, masks and video boxes are all areas;
    * ``line`` / ``points`` — ``points`` ``[[x, y], ...]``;
    * ``keypoints`` — ``points`` ``[[x, y, v], ...]`` (v: 0 absent, 1 hidden, 2 visible);
    * ``tag`` — a classification without geometry.
    """

    kind: str
    type: str
    label: ExportLabel | None
    box: tuple[float, float, float, float] | None = None  # computed on first use when None
    polygons: list[dict] | None = None
    rle: dict | None = None
    points: list[list[float]] | None = None
    annotation_id: int | None = None
    track_id: str = ""
    occluded: bool = False
    keyframe: bool = True
    source: str = "manual"
    score: float | None = None
    attributes: dict = field(default_factory=dict)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """``(x, y, w, h)`` in pixels (of the polygons, the RLE, or the points)."""
        if self.box is None:
            if self.rle is not None:
                self.box = geometry.rle_bbox(self.rle)
            elif self.polygons is not None:
                self.box = geometry.polygons_bbox(self.polygons)
            elif self.points:
                xs = [p[0] for p in self.points if len(p) < 3 or p[2] > 0]
                ys = [p[1] for p in self.points if len(p) < 3 or p[2] > 0]
                self.box = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)) if xs else (0.0, 0.0, 0.0, 0.0)
            else:
                self.box = (0.0, 0.0, 0.0, 0.0)
        return self.box

    @property
    def is_box(self) -> bool:
        return self.type in ("bbox", "video_bbox", "video_track")

    @property
    def has_holes(self) -> bool:
        return bool(self.polygons) and any(p.get("holes") for p in self.polygons)

    def mask(self, height: int, width: int) -> np.ndarray:
        """The shape's 0/1 mask, drawn by the shared rasteriser (RLE decoded as stored)."""
        if self.rle is not None:
            return geometry.rle_decode(self.rle)
        return geometry.polygons_to_mask(self.polygons or [], height, width)

    def draw(self, canvas: np.ndarray, value) -> None:
        """Paint the shape on ``canvas`` with ``value`` (a maskid, or a colour tuple)."""
        if self.rle is not None:
            canvas[geometry.rle_decode(self.rle).astype(bool)] = value
        elif self.polygons:
            geometry.draw_polygons(canvas, self.polygons, value)


@dataclass(slots=True)
class ExportFrame:
    task_id: int
    task_name: str
    index: int  # 0-based position in the task
    width: int
    height: int
    stem: str  # unique file stem within the export
    image_ext: str  # ".jpg", ".png", ... of the image file this export writes
    source_name: str = ""  # the uploaded file's name (Asset.original_name)
    video_name: str = ""  # sanitized stem of the task's media (video / series / image)
    pts_ms: float | None = None
    split: str = ""
    frame_count: int = 1  # frames in the task
    shapes: list[ExportShape] = field(default_factory=list)
    load_rgb: Callable[[], np.ndarray] | None = None  # the decoded frame (RGB uint8)
    load_original: Callable[[], bytes] | None = None  # the stored file as is (single images)

    @property
    def number(self) -> int:
        """1-based frame number (what users and frame ranges count)."""
        return self.index + 1

    @property
    def image_name(self) -> str:
        return f"{self.stem}{self.image_ext}"

    def image_rgb(self) -> np.ndarray:
        if self.load_rgb is None:
            return np.zeros((self.height, self.width, 3), dtype=np.uint8)
        image = self.load_rgb()
        if image.shape[0] != self.height or image.shape[1] != self.width:
            image = cv2.resize(image, (self.width, self.height), interpolation=cv2.INTER_AREA)
        return image

    def image_bytes(self) -> bytes:
        """The encoded image for ``image_name``: the original file when it already has that
        type, else the decoded frame encoded (JPEG quality 95, or lossless PNG)."""
        if self.load_original is not None:
            return self.load_original()
        return encode_image(self.image_ext, cv2.cvtColor(self.image_rgb(), cv2.COLOR_RGB2BGR))


def encode_indexed_png(indexes: np.ndarray, palette: np.ndarray) -> bytes:
    """An 8-bit palette PNG (colour type 3) of a uint8 index map; ``palette`` is (n, 3) RGB.

    OpenCV writes the index map as an 8-bit greyscale PNG, whose pixel data is byte for byte
    that of an indexed PNG: only the header's colour type changes and a PLTE chunk is added.
    As fast as a greyscale PNG, and VOC's own mask format (viewers show the colours).
    """
    data = encode_image(".png", indexes)
    ihdr_end = 8 + 8 + 13 + 4  # signature, IHDR length+type, IHDR data, CRC
    ihdr = bytearray(data[8:ihdr_end])
    ihdr[8 + 9] = 3  # colour type: indexed
    ihdr[-4:] = zlib.crc32(bytes(ihdr[4:-4])).to_bytes(4, "big")
    colours = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)[:256].tobytes()
    plte = len(colours).to_bytes(4, "big") + b"PLTE" + colours
    plte += zlib.crc32(b"PLTE" + colours).to_bytes(4, "big")
    return data[:8] + bytes(ihdr) + plte + data[ihdr_end:]


def encode_image(ext: str, image: np.ndarray) -> bytes:
    """Encode a BGR / grey image; OpenCV's default PNG settings are fast and small."""
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if ext in (".jpg", ".jpeg") else []
    ok, encoded = cv2.imencode(ext, image, params)
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        raise RuntimeError(f"could not encode a {ext} image")
    return encoded.tobytes()


@dataclass
class ExportContext:
    project_name: str
    project_kind: str
    labels: list[ExportLabel]  # bottom to top (z_order, id)
    options: dict[str, Any]
    include_images: bool = True
    splits: list[str] = field(default_factory=list)  # empty: no split
    archive_name: str = ""  # set by the exporter when its name depends on the frames
    on_frame: Callable[[ExportFrame], None] = lambda frame: None
    annotation_count: int = 0
    task_count: int = 0  # tasks in scope (0: unknown)
    frames_written: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> shapes left out

    def skip(self, reason: str, count: int = 1) -> None:
        if count:
            self.skipped[reason] = self.skipped.get(reason, 0) + count

    def split_of(self, frame: ExportFrame) -> str:
        return frame.split or "default"

    def label_by_id(self) -> dict[int, ExportLabel]:
        return {label.id: label for label in self.labels}


class SubsetLists:
    """Per-subset lists of names (VOC ImageSets, YOLO train.txt...), kept in temporary files
    so that a huge export never holds every name in memory."""

    def __init__(self) -> None:
        self._files: dict[str, Any] = {}

    def add(self, subset: str, name: str) -> None:
        handle = self._files.get(subset)
        if handle is None:
            handle = self._files[subset] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in write()
        handle.write(f"{name}\n".encode())

    def write(self, writer, folders: list[str]) -> None:
        for subset, handle in self._files.items():
            for folder in folders:
                handle.seek(0)
                with writer.open(f"{folder}/{subset}.txt") as target:
                    shutil.copyfileobj(handle, target)
            handle.close()
        self._files = {}


@dataclass(frozen=True)
class Option:
    type: type
    default: Any
    help: str
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None


class Exporter:
    """Base of every format: ``name``, ``title``, ``OPTIONS``, and :meth:`export`."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    # Which shape kinds the format carries; the others are counted and reported as skipped.
    kinds: ClassVar[frozenset[str]] = frozenset({"area", "line", "points", "keypoints"})
    OPTIONS: ClassVar[dict[str, Option]] = {}
    # Formats that render pixels can use a process pool (spawn/forkserver only).
    renders_masks: ClassVar[bool] = False

    def __init__(self, options: dict[str, Any] | None = None):
        self.options = self.clean_options(options or {})

    @classmethod
    def clean_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Validate format options; unknown names and wrong types are refused, by name."""
        if not isinstance(options, dict):
            raise ValidationError({"options": ["options must be an object."]})
        errors: dict[str, list[str]] = {}
        clean: dict[str, Any] = {}
        for key in options:
            if key not in cls.OPTIONS:
                allowed = ", ".join(sorted(cls.OPTIONS)) or "none"
                errors[f"options.{key}"] = [f"Unknown option for {cls.name}. Allowed: {allowed}."]
        for key, option in cls.OPTIONS.items():
            value = options.get(key, option.default)
            try:
                value = _coerce(option, value)
            except (TypeError, ValueError) as exc:
                errors[f"options.{key}"] = [str(exc)]
                continue
            clean[key] = value
        if errors:
            raise ValidationError(errors)
        return clean

    def export(self, frames: Iterable[ExportFrame], writer, ctx: ExportContext) -> None:  # pragma: no cover
        raise NotImplementedError

    def default_archive_name(self, ctx: ExportContext) -> str:
        return f"{safe_name(ctx.project_name, 'project')}_{self.name}.zip"


def _coerce(option: Option, value: Any) -> Any:
    truthy, falsy = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
    if option.type is bool:
        if isinstance(value, str) and value.lower() in truthy + falsy:
            value = value.lower() in truthy
        if not isinstance(value, bool):
            raise TypeError(f"Expected true or false, got {value!r}.")
    elif option.type is float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise TypeError(f"Expected a number, got {value!r}.")
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("Expected a finite number.")
    elif option.type is list:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise TypeError(f"Expected a list of names, got {value!r}.")
        if option.choices:
            bad = [v for v in value if v not in option.choices]
            if bad:
                raise ValueError(f"Unknown value(s) {', '.join(bad)}; choose from {', '.join(option.choices)}.")
        return value
    elif option.type is str and (not isinstance(value, str) or len(value) > 200):
        raise TypeError(f"Expected a short string, got {value!r}.")
    if option.choices and value not in option.choices:
        raise ValueError(f"Choose one of {', '.join(map(str, option.choices))}, got {value!r}.")
    if option.minimum is not None and value < option.minimum:
        raise ValueError(f"Must be at least {option.minimum}, got {value}.")
    if option.maximum is not None and value > option.maximum:
        raise ValueError(f"Must be at most {option.maximum}, got {value}.")
    return value


_UNSAFE = re.compile(r"[\\/:*?\"<>|\s\x00-\x1f]+")


def safe_name(value: Any, fallback: str = "unknown") -> str:
    """A file-name part: path separators, wildcards and spaces become ``_``."""
    text = _UNSAFE.sub("_", str(value or "").strip())
    text = re.sub(r"_+", "_", text).strip("._")
    return text[:150] or fallback


def format_timestamp(ms: float | None) -> str:
    """``1h02m03s004ms`` — the segmentation seed's timestamp spelling."""
    total = max(0, round(float(ms or 0.0)))
    hours, rest = divmod(total, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours}h{minutes:02d}m{seconds:02d}s{millis:03d}ms"


def flat(ring: list[list[float]]) -> list[float]:
    """``[[x, y], ...]`` → ``[x, y, x, y, ...]`` (coordinates as stored, never rounded)."""
    return [value for point in ring for value in point[:2]]


def label_map(labels: Iterable[ExportLabel]) -> np.ndarray:
    """A 256-entry BGR lookup table maskid → colour (maskid 0 is background: black)."""
    lut = np.zeros((256, 1, 3), dtype=np.uint8)
    for label in labels:
        if label.maskid:
            r, g, b = label.rgb
            lut[label.maskid, 0] = (b, g, r)
    return lut


def paint_gt_label(frame: ExportFrame, labels_in_order: list[ExportLabel]) -> np.ndarray:
    """GT_label: uint8, pixel = the shape's label maskid, painted bottom to top by z-order
    (then annotation order); maskid 0 'unclassified' paints 0, identical to background."""
    canvas = np.zeros((frame.height, frame.width), dtype=np.uint8)
    rank = {label.id: position for position, label in enumerate(labels_in_order)}
    areas = [s for s in frame.shapes if s.kind == "area" and s.label is not None]
    areas.sort(key=lambda s: rank.get(s.label.id, -1))
    for shape in areas:
        shape.draw(canvas, int(shape.label.maskid))
    return canvas
