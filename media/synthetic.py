"""Synthetic media made on the fly: demo content, tests and the ingest benchmark.

Nothing is downloaded. Videos are encoded with PyAV (any codec/container it bundles,
constant or variable frame rate) and carry their frame number in the picture (a uniform
block whose grey level is ``frame_level(i)``) so exact-frame decoding can be checked.
DICOM series are written with pydicom: a CT-like phantom in Hounsfield units (air, soft
tissue, lungs, spine) stored with a rescale intercept, so the modality LUT matters.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image


def frame_level(index: int) -> int:
    """Grey level of the marker block of frame ``index`` (distinct for 24 frames)."""
    return 16 + (index % 24) * 9


# --- images --------------------------------------------------------------------------------
def street_scene(width: int = 320, height: int = 240, seed: int = 0) -> np.ndarray:
    """An RGB picture with sky, road and a few box-shaped 'cars' and round 'people'."""
    rng = np.random.default_rng(seed)
    picture = np.zeros((height, width, 3), dtype=np.uint8)
    horizon = height // 2
    picture[:horizon] = (135, 180, 230)
    picture[horizon:] = (90, 90, 95)
    picture[horizon + height // 6 : horizon + height // 6 + 3, :, :] = 230  # lane marking
    for _ in range(3):
        w = int(rng.integers(max(1, width // 8), max(2, width // 4)))
        h = int(rng.integers(max(1, height // 10), max(2, height // 6)))
        x, y = int(rng.integers(0, max(1, width - w))), int(rng.integers(horizon, max(horizon + 1, height - h)))
        picture[y : y + h, x : x + w] = rng.integers(40, 255, size=3)
    yy, xx = np.mgrid[:height, :width]
    for _ in range(2):
        cx, cy, r = int(rng.integers(0, width)), int(rng.integers(horizon, height)), max(4, height // 20)
        picture[(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = (60, 180, 75)
    return picture


def image_bytes(
    width: int = 64,
    height: int = 48,
    *,
    seed: int = 0,
    fmt: str = "PNG",
    exif_orientation: int | None = None,
) -> bytes:
    """An encoded image (PNG, JPEG, ...); JPEGs can carry an EXIF orientation."""
    image = Image.fromarray(street_scene(width, height, seed))
    buffer = io.BytesIO()
    kwargs = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif.tobytes()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


# --- video ---------------------------------------------------------------------------------
def write_video(
    path: Path | str,
    *,
    codec: str = "libx264",
    container: str | None = None,
    frames: int = 12,
    size: tuple[int, int] = (160, 120),
    fps: int = 25,
    durations_ms: Sequence[int] | None = None,
    bframes: int | None = None,
    pix_fmt: str = "yuv420p",
    display_rotation: int = 0,
) -> list[float]:
    """Encode a short video; ``durations_ms`` (cycled) makes it variable frame rate;
    ``display_rotation`` (MP4/MOV: degrees counterclockwise, a multiple of 90) writes the
    display matrix a phone writes (-90: a portrait video stored as landscape pictures).

    Returns each frame's presentation time in ms from the first frame.
    """
    import av

    width, height = size
    out = av.open(str(path), "w", format=container)
    stream = out.add_stream(codec, rate=fps)
    stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
    if bframes is not None:
        stream.codec_context.max_b_frames = bframes
    time_base = Fraction(1, 1000) if durations_ms else Fraction(1, fps)
    if durations_ms:
        stream.codec_context.time_base = time_base
    times, pts = [], 0
    yy, xx = np.mgrid[:height, :width]
    for index in range(frames):
        picture = np.zeros((height, width, 3), dtype=np.uint8)
        picture[:] = (30, 60, 90)
        block = min(width, height) // 2
        picture[:block, :block] = frame_level(index)  # the frame number, as a grey level
        cx = block + (index * 7) % max(1, width - block)
        picture[((xx - cx) ** 2 + (yy - height * 3 // 4) ** 2) < 64] = (220, 60, 60)
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        times.append(float(pts * time_base * 1000))
        pts += durations_ms[index % len(durations_ms)] if durations_ms else 1
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    if display_rotation:
        set_display_rotation(path, display_rotation)
    return times


def set_display_rotation(path: Path | str, degrees: int) -> None:
    """Rewrite the matrix of an MP4/MOV file's (first) track header, as a phone camera
    writes it; FFmpeg reads it back as the stream's display matrix."""
    import math
    import struct

    path = Path(path)
    data = bytearray(path.read_bytes())
    at = data.find(b"tkhd")
    if at < 4:
        raise ValueError(f"{path.name} has no MP4 track header")
    version = data[at + 4]
    # type, version+flags, times/ids/duration (v0: 20 bytes, v1: 32), reserved, layer,
    # alternate group, volume, reserved (16): then the 3x3 matrix of nine 32-bit numbers.
    matrix = at + 4 + 4 + (32 if version == 1 else 20) + 16
    cos, sin = round(math.cos(math.radians(degrees))), round(math.sin(math.radians(degrees)))
    values = [cos << 16, -sin << 16, 0, sin << 16, cos << 16, 0, 0, 0, 1 << 30]
    data[matrix : matrix + 36] = struct.pack(">9i", *values)
    path.write_bytes(bytes(data))


def video_bytes(suffix: str = ".mp4", **kwargs) -> bytes:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        write_video(tmp.name, **kwargs)
        return Path(tmp.name).read_bytes()


# --- DICOM ---------------------------------------------------------------------------------
def ct_phantom(size: int, z: float) -> np.ndarray:
    """One axial slice in Hounsfield units; ``z`` in 0..1 moves through the body."""
    yy, xx = np.mgrid[:size, :size] / size - 0.5
    hu = np.full((size, size), -1000.0)
    body = (xx / 0.42) ** 2 + (yy / 0.32) ** 2 <= 1
    hu[body] = 40.0
    lung_r = 0.12 * (0.6 + 0.4 * np.sin(np.pi * z))
    for side in (-0.17, 0.17):
        hu[((xx - side) / lung_r) ** 2 + (yy / (lung_r * 1.4)) ** 2 <= 1] = -800.0
    hu[(xx**2 + (yy - 0.2) ** 2) <= 0.05**2] = 700.0  # spine
    return hu


def ct_series(
    slices: int = 12,
    size: int = 64,
    *,
    series_uid: str | None = None,
    study_uid: str | None = None,
    description: str = "Synthetic CT",
    patient_name: str = "DOE^JANE",
    patient_id: str = "PAT-0001",
    window: tuple[float, float] | None = None,
    instance_numbers: bool = True,
    positions: bool = True,
    spacing: float = 2.5,
) -> list[tuple[str, bytes]]:
    """A CT series as (file name, bytes): uint16 stored values with RescaleIntercept -1024."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    series_uid = series_uid or generate_uid()
    study_uid = study_uid or generate_uid()
    files = []
    for number in range(slices):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.Modality = "CT"
        ds.SeriesDescription = description
        ds.PatientName = patient_name
        ds.PatientID = patient_id
        ds.PatientBirthDate = "19700101"
        ds.PatientSex = "F"
        ds.InstitutionName = "Synthetic Hospital"
        ds.ReferringPhysicianName = "HOUSE^GREGORY"
        ds.AccessionNumber = "ACC123"
        ds.StudyID = "1"
        ds.SeriesNumber = 1
        if instance_numbers:
            ds.InstanceNumber = number + 1
        if positions:
            ds.ImagePositionPatient = [-100.0, -100.0, round(number * spacing, 3)]
            ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [0.8, 0.8]
        ds.SliceThickness = spacing
        ds.RescaleSlope = 1
        ds.RescaleIntercept = -1024
        if window is not None:
            ds.WindowCenter, ds.WindowWidth = window
        ds.add_new(0x00091001, "LO", "private vendor data")  # a private tag
        hu = ct_phantom(size, number / max(slices - 1, 1))
        ds.set_pixel_data((hu + 1024).astype(np.uint16), photometric_interpretation="MONOCHROME2", bits_stored=12)
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        files.append((f"slice-{number + 1:03d}.dcm", buffer.getvalue()))
    return files
