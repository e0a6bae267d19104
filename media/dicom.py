"""DICOM with pydicom: headers, series order, 8-bit rendering with windowing, de-identification.

Rendering a slice: stored values → modality LUT (rescale slope/intercept, e.g. to
Hounsfield units) → VOI windowing to 0-255 → MONOCHROME1 inverted. The window is, in
order: the one asked for (a preset name or centre/width), the file's own window (or VOI
LUT), a preset by modality (CT → soft tissue), or the series' measured range. Compressed
transfer syntaxes decode through the pylibjpeg plugins (JPEG, JPEG-LS, JPEG 2000, RLE).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_modality_lut, apply_voi_lut, iter_pixels, pixel_array

# name -> (centre, width) in Hounsfield units.
WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "soft_tissue": (40.0, 400.0),
    "lung": (-600.0, 1500.0),
    "bone": (400.0, 1800.0),
    "brain": (40.0, 80.0),
    "mediastinum": (50.0, 350.0),
}
# Modalities whose modality LUT output is in Hounsfield units (presets make sense).
HU_MODALITIES = {"CT"}

# Removed (or emptied when the standard needs them present) by strip_patient_identity:
# the patient, people and institution elements of the DICOM basic confidentiality profile
# (PS3.15 E.1), keeping patient characteristics (sex, age, size, weight) for research.
IDENTITY_KEYWORDS_EMPTIED = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "ReferringPhysicianName",
    "AccessionNumber",
    "StudyID",
)
IDENTITY_KEYWORDS_REMOVED = (
    "IssuerOfPatientID",
    "PatientBirthTime",
    "OtherPatientIDs",
    "OtherPatientIDsSequence",
    "OtherPatientNames",
    "PatientBirthName",
    "PatientMotherBirthName",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "PatientComments",
    "MilitaryRank",
    "BranchOfService",
    "MedicalRecordLocator",
    "PatientInsurancePlanCodeSequence",
    "ResponsiblePerson",
    "ResponsibleOrganization",
    "CountryOfResidence",
    "RegionOfResidence",
    "PerformingPhysicianName",
    "OperatorsName",
    "PhysiciansOfRecord",
    "RequestingPhysician",
    "NameOfPhysiciansReadingStudy",
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "StationName",
    "DeviceSerialNumber",
    "AdmissionID",
    "IssuerOfAdmissionID",
    "PatientState",
)


# Pixel data larger than this is read only when decoded (multi-frame files decode per frame).
DEFER_SIZE = "4 MB"


class DicomError(Exception):
    """The file is not DICOM we can use (message says why); ``code`` names the reason."""

    def __init__(self, message: str, code: str = "undecodable"):
        super().__init__(message)
        self.code = code


def transfer_syntax_refusal(uid: str) -> str | None:
    """Why pixel data in this transfer syntax cannot be decoded here (None when it can)."""
    from pydicom.pixels import get_decoder
    from pydicom.uid import UID

    transfer_syntax = UID(uid or "1.2.840.10008.1.2")  # absent: implicit VR little endian (PS3.5 A.1)
    try:
        decoder = get_decoder(transfer_syntax)
    except NotImplementedError:
        decoder = None
    if decoder is not None and decoder.is_available:
        return None
    name = transfer_syntax.name if transfer_syntax.name != str(transfer_syntax) else "unknown"
    return (
        f"the DICOM transfer syntax {name} ({transfer_syntax}) is not supported: send uncompressed, JPEG, "
        "JPEG-LS, JPEG 2000 or RLE pixel data"
    )


@dataclass(frozen=True)
class Window:
    center: float
    width: float
    name: str = ""
    function: str = "LINEAR"

    def as_dict(self) -> dict[str, Any]:
        return {"center": self.center, "width": self.width, "name": self.name or None}


def parse_window(preset: str | None = None, center: float | None = None, width: float | None = None) -> Window | None:
    """A window from a request: a preset name, or a centre and a width (width > 0)."""
    if preset:
        if preset not in WINDOW_PRESETS:
            raise ValueError(f"unknown window preset {preset!r}; one of {', '.join(WINDOW_PRESETS)}")
        c, w = WINDOW_PRESETS[preset]
        return Window(c, w, preset)
    if center is None and width is None:
        return None
    if center is None or width is None:
        raise ValueError("give both the window centre and width")
    if not (math.isfinite(center) and math.isfinite(width)) or width <= 0:
        raise ValueError("the window width must be a positive number")
    return Window(float(center), float(width))


def _first(value: Any) -> Any:
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        return value[0] if len(value) else None
    return value


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _floats(value: Any) -> list[float] | None:
    if value is None:
        return None
    try:
        items = list(value) if isinstance(value, (list, tuple, pydicom.multival.MultiValue)) else [value]
        return [float(v) for v in items]
    except (TypeError, ValueError):
        return None


@dataclass
class DicomHeader:
    sop_instance_uid: str
    series_instance_uid: str
    study_instance_uid: str
    modality: str
    series_description: str
    instance_number: int | None
    position: list[float] | None
    orientation: list[float] | None
    frames: int
    rows: int
    columns: int
    samples_per_pixel: int
    photometric: str
    transfer_syntax: str
    pixel_spacing: list[float] | None
    slice_thickness: float | None
    window: tuple[float, float] | None
    extra: dict[str, Any] = field(default_factory=dict)

    def slice_position(self) -> float | None:
        """Distance along the slice normal (sorting key by geometry)."""
        if self.position is None or self.orientation is None or len(self.orientation) != 6:
            return None
        row, col = np.array(self.orientation[:3]), np.array(self.orientation[3:])
        return float(np.dot(np.cross(row, col), np.array(self.position)))


def read_header(path: Path | str) -> DicomHeader:
    """The elements that group and order a file, without reading its pixels."""
    try:
        with open(path, "rb") as handle:
            ds = pydicom.dcmread(handle, stop_before_pixels=True)
            # Reading stops at the pixel data element: stopping before the end means there is one.
            has_pixels = handle.tell() < os.fstat(handle.fileno()).st_size
    except InvalidDicomError as exc:
        raise DicomError(f"not a DICOM file ({exc})") from None
    except Exception as exc:  # pydicom raises many types on damaged files
        raise DicomError(f"the DICOM file is damaged ({type(exc).__name__}: {exc})") from None
    if not has_pixels:
        raise DicomError("the DICOM file has no image (no pixel data)")
    instance = ds.get("InstanceNumber")
    window_center, window_width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    window = None
    try:
        if window_center is not None and window_width is not None and float(window_width) > 0:
            window = (float(window_center), float(window_width))
    except (TypeError, ValueError):
        window = None
    thickness = ds.get("SliceThickness")
    try:
        thickness = float(thickness) if thickness not in (None, "") else None
    except (TypeError, ValueError):
        thickness = None
    rows, columns = _int_or_none(ds.get("Rows")) or 0, _int_or_none(ds.get("Columns")) or 0
    if not rows or not columns:
        raise DicomError("the DICOM file has no picture size (Rows/Columns)")
    refusal = transfer_syntax_refusal(str(getattr(ds.file_meta, "TransferSyntaxUID", "") or ""))
    if refusal:
        raise DicomError(refusal, code="unsupported_type")
    return DicomHeader(
        sop_instance_uid=str(ds.get("SOPInstanceUID", "")),
        series_instance_uid=str(ds.get("SeriesInstanceUID", "")),
        study_instance_uid=str(ds.get("StudyInstanceUID", "")),
        modality=str(ds.get("Modality", "")),
        series_description=str(ds.get("SeriesDescription", "")),
        instance_number=_int_or_none(instance),
        position=_floats(ds.get("ImagePositionPatient")),
        orientation=_floats(ds.get("ImageOrientationPatient")),
        frames=max(1, _int_or_none(ds.get("NumberOfFrames")) or 1),
        rows=rows,
        columns=columns,
        samples_per_pixel=int(ds.get("SamplesPerPixel") or 1),
        photometric=str(ds.get("PhotometricInterpretation", "")),
        transfer_syntax=str(getattr(ds.file_meta, "TransferSyntaxUID", "")),
        pixel_spacing=_floats(ds.get("PixelSpacing")),
        slice_thickness=thickness,
        window=window,
        extra={
            "transfer_syntax_name": getattr(getattr(ds.file_meta, "TransferSyntaxUID", None), "name", ""),
            "bits_stored": int(ds.get("BitsStored") or 0),
            "body_part": str(ds.get("BodyPartExamined", "")),
            "manufacturer": str(ds.get("Manufacturer", "")),
        },
    )


def natural_key(name: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name))


def order_series(files: list[tuple[str, DicomHeader]]) -> list[tuple[str, DicomHeader]]:
    """Slices in order: InstanceNumber (ties by position), else position along the slice
    normal, else the natural order of the file names (``2.dcm`` before ``10.dcm``)."""
    if all(h.instance_number is not None for _, h in files):
        return sorted(files, key=lambda f: (f[1].instance_number, f[1].slice_position() or 0.0, natural_key(f[0])))
    if all(h.slice_position() is not None for _, h in files):
        return sorted(files, key=lambda f: (f[1].slice_position(), natural_key(f[0])))
    return sorted(files, key=lambda f: natural_key(f[0]))


def series_metadata(header: DicomHeader, *, slices: int) -> dict[str, Any]:
    """Key metadata of a series (never patient identity)."""
    return {
        "modality": header.modality,
        "series_description": header.series_description,
        "series_instance_uid": header.series_instance_uid,
        "study_instance_uid": header.study_instance_uid,
        "pixel_spacing": header.pixel_spacing,
        "slice_thickness": header.slice_thickness,
        "rows": header.rows,
        "columns": header.columns,
        "frames": slices,
        "photometric_interpretation": header.photometric,
        "transfer_syntax": header.extra.get("transfer_syntax_name") or header.transfer_syntax,
        "window": {"center": header.window[0], "width": header.window[1]} if header.window else None,
        "body_part": header.extra.get("body_part", ""),
        "manufacturer": header.extra.get("manufacturer", ""),
    }


def read_dataset(path: Path | str) -> Dataset:
    return pydicom.dcmread(str(path))


def frame_values(path: Path | str, frame: int) -> tuple[np.ndarray, Dataset]:
    """One frame's decoded pixel values (colour converted to RGB) and the file's elements.
    A multi-frame file decodes only that frame."""
    try:
        ds = pydicom.dcmread(str(path), defer_size=DEFER_SIZE)
        if (_int_or_none(ds.get("NumberOfFrames")) or 1) == 1:
            return ds.pixel_array, ds
        return pixel_array(str(path), index=frame), ds
    except Exception as exc:  # decoders raise many types
        raise DicomError(f"the pixel data cannot be decoded ({type(exc).__name__}: {exc})") from None


def iter_frame_values(path: Path | str) -> Iterator[tuple[np.ndarray, Dataset]]:
    """Every frame of a file in order (one pass over the file), with its other elements."""
    try:
        ds = pydicom.dcmread(str(path), defer_size=DEFER_SIZE)
        if (_int_or_none(ds.get("NumberOfFrames")) or 1) == 1:
            values = ds.pixel_array
            frames = None
        else:
            frames = iter_pixels(str(path))
    except Exception as exc:  # decoders raise many types
        raise DicomError(f"the pixel data cannot be decoded ({type(exc).__name__}: {exc})") from None
    if frames is None:
        yield values, ds
        return
    while True:
        try:
            values = next(frames)
        except StopIteration:
            return
        except Exception as exc:
            raise DicomError(f"the pixel data cannot be decoded ({type(exc).__name__}: {exc})") from None
        yield values, ds


def modality_values(values: np.ndarray, ds: Dataset) -> np.ndarray:
    """Stored values → modality values (rescale slope/intercept or modality LUT)."""
    if int(ds.get("SamplesPerPixel") or 1) != 1:
        return values
    return np.asarray(apply_modality_lut(values, ds), dtype=np.float64)


def value_range(values: np.ndarray) -> tuple[float, float]:
    """Robust range of modality values (0.5th-99.5th percentile of a sample of ~16k pixels)
    for an automatic window."""
    flat = values.reshape(-1)
    flat = flat[:: max(1, flat.size // 16384)]
    low, high = np.percentile(flat, [0.5, 99.5])
    return float(low), float(high)


def needs_value_range(header: DicomHeader) -> bool:
    """Only series without their own window and without Hounsfield units use the measured range."""
    return header.window is None and header.modality not in HU_MODALITIES and header.samples_per_pixel == 1


def apply_window(values: np.ndarray, window: Window) -> np.ndarray:
    """Modality values → 0-255 with the DICOM VOI functions (PS3.3 C.11.2.1.2)."""
    c, w = window.center, max(window.width, 1.0)
    if window.function == "SIGMOID":
        out = 255.0 / (1.0 + np.exp(-4.0 * (values - c) / w))
    elif window.function == "LINEAR_EXACT":
        out = ((values - c) / w + 0.5) * 255.0
    elif w <= 1:
        out = np.where(values > c - 0.5, 255.0, 0.0)
    else:
        out = ((values - (c - 0.5)) / (w - 1.0) + 0.5) * 255.0
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _normalise(values: np.ndarray, low: float, high: float) -> np.ndarray:
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    scaled = (values.astype(np.float64) - low) * (255.0 / (high - low))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _file_window(ds: Dataset) -> Window | None:
    center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    try:
        if center is None or width is None or float(width) <= 0:
            return None
        function = str(ds.get("VOILUTFunction") or "LINEAR").upper()
        return Window(float(center), float(width), "file", function)
    except (TypeError, ValueError):
        return None


def choose_window(ds: Dataset, requested: Window | None, series_range: tuple[float, float] | None) -> Window | None:
    """The window used when none was asked for; None = use the file's VOI LUT."""
    if requested is not None:
        return requested
    own = _file_window(ds)
    if own is not None:
        return own
    if "VOILUTSequence" in ds:
        return None
    if str(ds.get("Modality", "")) in HU_MODALITIES:
        c, w = WINDOW_PRESETS["soft_tissue"]
        return Window(c, w, "soft_tissue")
    if series_range is not None:
        low, high = series_range
        return Window((low + high) / 2.0, max(high - low, 1.0), "auto", "LINEAR_EXACT")
    return None


def render(
    values: np.ndarray, ds: Dataset, *, window: Window | None = None, series_range: tuple[float, float] | None = None
) -> np.ndarray:
    """One decoded frame → RGB uint8 (H, W, 3), windowed as documented at the top."""
    samples = int(ds.get("SamplesPerPixel") or 1)
    if samples == 3 or values.ndim == 3:
        if values.dtype != np.uint8:
            values = _normalise(values, 0, float(2 ** int(ds.get("BitsStored") or 8) - 1))
        return np.ascontiguousarray(values[..., :3])
    modality = modality_values(values, ds)
    chosen = choose_window(ds, window, series_range)
    if chosen is not None:
        grey = apply_window(modality, chosen)
    elif "VOILUTSequence" in ds:
        lut = apply_voi_lut(modality, ds, prefer_lut=True)
        descriptor = ds.VOILUTSequence[0].LUTDescriptor
        bits = int(descriptor[2]) if len(descriptor) > 2 else 16
        grey = _normalise(lut, 0, float(2**bits - 1))
    else:
        grey = _normalise(modality, *value_range(modality))
    if str(ds.get("PhotometricInterpretation", "")) == "MONOCHROME1":
        grey = 255 - grey
    return np.repeat(grey[:, :, None], 3, axis=2)


def _strip(ds: Dataset) -> None:
    for keyword in IDENTITY_KEYWORDS_REMOVED:
        if keyword in ds:
            delattr(ds, keyword)
    for keyword in IDENTITY_KEYWORDS_EMPTIED:
        if keyword in ds:
            ds[keyword].value = ""
    for element in ds:
        if element.VR == "SQ":
            for item in element.value:
                _strip(item)


def strip_patient_identity(source: Path | str, target: Path | str) -> None:
    """Write a copy of a DICOM file without patient-identifying elements or private tags."""
    ds = pydicom.dcmread(str(source))
    _strip(ds)
    ds.remove_private_tags()
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "Annotator: PS3.15 basic profile subset on ingest"
    ds.save_as(str(target), enforce_file_format=True)
