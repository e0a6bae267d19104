"""Hostile inputs through the real import paths, one table per path.

Every case is uploaded as a user would (``POST /projects/{id}/imports`` for media,
``POST /projects/{id}/annotation-imports`` for annotations) beside a good file, and a real
Dramatiq worker (stub broker, worker threads) runs the import. Each case asserts:

* the hostile file is refused, and the import report says why in words a person can act on;
* nothing was written for it: no Task, Asset, Frame or Annotation, and the project's storage
  folder holds exactly the files the database references;
* the good file of the same import was accepted;
* the worker survived: the next import on the same worker succeeds.

The tables are the list of hostile inputs we defend against; add a row for each new one.
"""

from __future__ import annotations

import io
import json
import os
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from annotations.models import Annotation, Source
from exports.models import Import
from jobs.models import Job
from media import synthetic
from media.models import Asset, Frame
from tasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)

JOIN_MS = 120_000  # a loaded 2-core machine decodes slowly; a hang still fails the test


# --- building hostile files ----------------------------------------------------------------
def png(seed: int, width: int = 24, height: int = 16) -> bytes:
    return synthetic.image_bytes(width, height, seed=seed)


def png_claiming(width: int, height: int, colour_type: int = 2) -> bytes:
    """A valid PNG header declaring ``width`` x ``height`` pixels (RGB by default), with almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def video(frames: int = 3) -> bytes:
    return synthetic.video_bytes(frames=frames, size=(32, 24))


def video_without_frames(container: str) -> bytes:
    """A container with a declared video stream and not a single frame."""
    import av

    buffer = io.BytesIO()
    out = av.open(buffer, "w", format=container)
    stream = out.add_stream("mpeg4", rate=25)
    stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
    out.start_encoding()
    out.close()
    return buffer.getvalue()


def audio_only_mp4() -> bytes:
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), dtype=np.float32), format="fltp", layout="mono")
        frame.sample_rate = 8000
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    return buffer.getvalue()


def dicom_slice(seed: int = 0) -> tuple[str, bytes]:
    """One slice of a new series (its own SeriesInstanceUID, so it is its own task)."""
    name, data = synthetic.ct_series(1, 16, description=f"series {seed}")[0]
    return name, data


def dicom_edited(edit: Callable[[pydicom.Dataset], None]) -> bytes:
    _, data = dicom_slice()
    ds = pydicom.dcmread(io.BytesIO(data))
    edit(ds)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _mpeg2_transfer_syntax(ds: pydicom.Dataset) -> None:
    from pydicom.encaps import encapsulate

    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2 Main Profile: no decoder
    ds.PixelData = encapsulate([bytes(ds.PixelData)])
    ds["PixelData"].VR = "OB"


def _short_pixel_data(ds: pydicom.Dataset) -> None:
    ds.PixelData = ds.PixelData[:100]


def _no_pixel_data(ds: pydicom.Dataset) -> None:
    del ds.PixelData


def zip_of(members: list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip with member names written exactly as given (absolute, ``..``: not cleaned)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            archive.writestr(info, data)
    return buffer.getvalue()


def zip_lying_about_size() -> bytes:
    """A member whose headers declare 1,000 bytes while its data expands to 2 MB."""
    data = bytearray(zip_of([("liar.png", b"\x89PNG" + b"\x00" * 2_000_000), ("fine.png", png(31))]))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(signature)  # the first local header / central entry: liar.png
        data[at + offset : at + offset + 4] = struct.pack("<I", 1000)
    return bytes(data)


def tar_of(members: list[tuple[str, bytes | None, str]]) -> bytes:
    """(name, data, link target); a link target makes a symlink member."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data, link in members:
            info = tarfile.TarInfo(name)
            if link:
                info.type, info.linkname = tarfile.SYMTYPE, link
                archive.addfile(info)
            else:
                info.size = len(data or b"")
                archive.addfile(info, io.BytesIO(data or b""))
    return buffer.getvalue()


# --- media imports -------------------------------------------------------------------------
@dataclass(frozen=True)
class MediaCase:
    id: str
    kind: str  # project kind
    files: Callable[[], dict[str, bytes]]  # upload name -> bytes (the hostile ones, and good archive members)
    refused: dict[str, tuple[str, tuple[str, ...]]]  # file in the report -> (code, words of the reason)
    accepted: tuple[str, ...] = ()  # good files besides the one every import carries
    settings: dict = field(default_factory=dict)


MEDIA_CASES = [
    MediaCase(
        "zero_byte_file",
        "image",
        lambda: {"empty.png": b""},
        {"empty.png": ("empty", ("empty",))},
    ),
    MediaCase(
        "text_named_png",
        "image",
        lambda: {"notes.png": b"just some words, not a picture\n"},
        {"notes.png": ("wrong_kind", ("text file", "Image project", "images"))},
    ),
    MediaCase(
        "png_named_mp4",
        "video",
        lambda: {"clip.mp4": png(1)},
        {"clip.mp4": ("wrong_kind", ("image file (png)", "Video project", "videos"))},
    ),
    MediaCase(
        "executable_named_jpg",
        "image",
        lambda: {"photo.jpg": b"MZ\x90\x00" + b"\x00" * 200},
        {"photo.jpg": ("unsupported_type", ("executable",))},
    ),
    MediaCase(
        "truncated_video",
        "video",
        lambda: {"cut.mp4": video(6)[:900]},
        {"cut.mp4": ("undecodable", ("video",))},
    ),
    MediaCase(
        "video_with_no_frames",
        "video",
        lambda: {"nothing.avi": video_without_frames("avi")},
        {"nothing.avi": ("undecodable", ("no frames",))},
    ),
    MediaCase(
        "mp4_with_no_frames",
        "video",
        lambda: {"nothing.mp4": video_without_frames("mp4")},
        {"nothing.mp4": ("undecodable", ("no video stream",))},
    ),
    MediaCase(
        "audio_only_mp4",
        "video",
        lambda: {"song.mp4": audio_only_mp4()},
        {"song.mp4": ("undecodable", ("no video stream",))},
    ),
    MediaCase(
        "zip_with_absolute_path",
        "image",
        lambda: {"abs.zip": zip_of([("/etc/cron.d/evil.png", png(2)), ("fine.png", png(3))])},
        {"/etc/cron.d/evil.png": ("unsafe_path", ("absolute path",))},
        accepted=("fine.png",),
    ),
    MediaCase(
        "zip_with_parent_path",
        "image",
        lambda: {"up.zip": zip_of([("../../escape.png", png(4)), ("sub/fine.png", png(5))])},
        {"../../escape.png": ("unsafe_path", ("..", "outside"))},
        accepted=("sub/fine.png",),
    ),
    MediaCase(
        "tar_with_parent_path_and_symlink",
        "image",
        lambda: {
            "t.tar.gz": tar_of(
                [("../up.png", png(6), ""), ("link.png", None, "/etc/passwd"), ("dir/fine.png", png(7), "")]
            )
        },
        {
            "../up.png": ("unsafe_path", ("..", "outside")),
            "link.png": ("link_in_archive", ("links",)),
        },
        accepted=("dir/fine.png",),
    ),
    MediaCase(
        "zip_bomb_member",
        "image",
        # 20 MB of zeros deflate to ~20 kB: a ratio near 1000:1
        lambda: {"bomb.zip": zip_of([("zeros.png", b"\x89PNG" + bytes(20_000_000)), ("fine.png", png(8))])},
        {"bomb/zeros.png": ("archive_bomb", ("compressed more than 200:1",))},
        accepted=("bomb/fine.png",),
    ),
    MediaCase(
        "zip_expanding_past_the_total_limit",
        "image",
        lambda: {"big.zip": zip_of([(f"{n}.png", os.urandom(400_000)) for n in range(3)], zipfile.ZIP_STORED)},
        {"big.zip": ("archive_too_big", ("expands to 1,200,000 bytes", "limit is 1,000,000"))},
        settings={"MEDIA_MAX_ARCHIVE_EXPANDED_BYTES": 1_000_000},
    ),
    MediaCase(
        "zip_member_lying_about_its_size",
        "image",
        lambda: {"liar.zip": zip_lying_about_size()},
        {"liar/liar.png": ("archive_corrupt", ("cannot be extracted",))},
        accepted=("liar/fine.png",),
    ),
    MediaCase(
        "nested_archive",
        "image",
        lambda: {"outer.zip": zip_of([("inner.zip", zip_of([("x.png", png(9))])), ("fine.png", png(10))])},
        {"outer/inner.zip": ("nested_archive", ("archives inside archives", "on its own"))},
        accepted=("outer/fine.png",),
    ),
    MediaCase(
        "corrupt_zip",
        "image",
        lambda: {"broken.zip": b"PK\x03\x04" + b"garbage" * 20},
        {"broken.zip": ("archive_corrupt", ("not a readable zip",))},
    ),
    MediaCase(
        "empty_zip",
        "image",
        lambda: {"hollow.zip": zip_of([])},
        {"hollow.zip": ("empty", ("no files",))},
    ),
    MediaCase(
        "image_decompression_bomb_header",
        "image",
        lambda: {"bomb.png": png_claiming(50_000, 50_000)},
        {"bomb.png": ("too_many_pixels", ("2,500,000,000 pixels", "limit of 150,000,000", "decompression bomb"))},
    ),
    MediaCase(
        "truncated_png",
        "image",
        lambda: {"cut.png": png(11, 200, 150)[:300]},
        {"cut.png": ("undecodable", ("damaged",))},
    ),
    MediaCase(
        "dicom_unsupported_transfer_syntax",
        "dicom",
        lambda: {"mpeg2.dcm": dicom_edited(_mpeg2_transfer_syntax)},
        {"mpeg2.dcm": ("unsupported_type", ("transfer syntax", "MPEG2", "1.2.840.10008.1.2.4.100"))},
    ),
    MediaCase(
        "dicom_short_pixel_data",
        "dicom",
        lambda: {"short.dcm": dicom_edited(_short_pixel_data)},
        {"short.dcm": ("undecodable", ("pixel data", "100"))},
    ),
    MediaCase(
        "dicom_without_pixel_data",
        "dicom",
        lambda: {"header-only.dcm": dicom_edited(_no_pixel_data)},
        {"header-only.dcm": ("undecodable", ("no pixel data",))},
    ),
    MediaCase(
        "dicom_magic_then_garbage",
        "dicom",
        lambda: {"garbage.dcm": b"\x00" * 128 + b"DICM" + b"\xff\x13" * 300},
        {"garbage.dcm": ("undecodable", ("DICOM file", "no pixel data"))},
    ),
    MediaCase(
        "latin1_text_in_text_project",
        "text",
        lambda: {"latin1.txt": "naïve café".encode("latin-1")},
        {"latin1.txt": ("not_utf8", ("not UTF-8",))},
    ),
]


def good_file(kind: str, seed: int) -> tuple[str, bytes]:
    """A file the project kind accepts; ``seed`` keeps two of them different (no duplicates)."""
    if kind == "image":
        return f"good-{seed}.png", png(100 + seed)
    if kind == "video":
        return f"good-{seed}.mp4", video(2 + seed)
    if kind == "dicom":
        return f"good-{seed}.dcm", dicom_slice(seed)[1]
    return f"good-{seed}.txt", f"a good text number {seed}\n".encode()


def upload_media(client, project, files: dict[str, bytes], worker) -> Job:
    payload = {"files": [SimpleUploadedFile(name, data) for name, data in files.items()], "paths": list(files)}
    response = client.post(f"/api/v1/projects/{project.pk}/imports", payload, format="multipart")
    assert response.status_code == 202, response.content
    worker.join("media", timeout=JOIN_MS)
    return Job.objects.get(pk=response.json()["id"])


def stored_files(project) -> set[str]:
    root = Path(default_storage.location)
    folder = root / project.storage_prefix
    return {str(p.relative_to(root)) for p in folder.rglob("*") if p.is_file()}


def referenced_files(project) -> set[str]:
    """Every stored file the database points at for this project."""
    paths = set()
    for asset in Asset.objects.filter(project=project):
        paths.update(p for p in (asset.file, asset.thumbnail_path, asset.poster_path, asset.playback_path) if p)
    paths.update(Import.objects.filter(project=project).values_list("upload_path", flat=True))
    return paths


def report_files(client, project, job: Job) -> dict[str, dict]:
    rows = client.get(f"/api/v1/projects/{project.pk}/imports/{job.pk}/files?limit=1000").json()["results"]
    return {row["name"]: row for row in rows if not row["is_archive"]}


@pytest.mark.parametrize("case", MEDIA_CASES, ids=lambda case: case.id)
def test_hostile_media_is_refused_with_its_reason_and_leaves_nothing(
    case, world_a, make_project, stub_worker, settings
):
    for name, value in case.settings.items():
        setattr(settings, name, value)
    project = make_project(world_a, case.kind)
    client = world_a.client("manager")
    good_name, good_data = good_file(case.kind, 1)
    job = upload_media(client, project, {**case.files(), good_name: good_data}, stub_worker)
    assert job.status == "succeeded", job.message

    report = report_files(client, project, job)
    for name, (code, words) in case.refused.items():
        assert name in report, f"{name} not in the report: {sorted(report)}"
        row = report[name]
        assert (row["outcome"], row["code"]) == ("refused", code), row
        for word in words:
            assert word.lower() in row["reason"].lower(), f"{word!r} not in {row['reason']!r}"
        assert row["task_id"] is None and row["asset_id"] is None
    errors = client.get(f"/api/v1/projects/{project.pk}/imports/{job.pk}").json()["errors"]
    assert all(any(line.startswith(f"{name}: ") for line in errors) for name in case.refused), errors

    accepted = {good_name, *case.accepted}
    assert {name for name, row in report.items() if row["outcome"] == "accepted"} == accepted
    assert {name for name, row in report.items() if row["outcome"] == "refused"} == set(case.refused)
    # Nothing of a refused file: rows only for the accepted ones, storage exactly what rows name.
    assets = Asset.objects.filter(project=project)
    assert sorted(assets.values_list("original_name", flat=True)) == sorted(accepted)
    assert Task.objects.filter(project=project).count() == len(accepted)
    assert Frame.objects.filter(task__project=project).count() == sum(a.frame_count or 0 for a in assets)
    assert stored_files(project) == referenced_files(project)

    # The worker survived: the next import on it works.
    next_name, next_data = good_file(case.kind, 2)
    again = upload_media(client, project, {next_name: next_data}, stub_worker)
    assert again.status == "succeeded" and again.result["accepted"] == 1, again.result


# --- annotation imports --------------------------------------------------------------------
LABELS = [{"name": "car", "color": "#ff0000", "maskid": 1}, {"name": "person", "color": "#00ff00", "maskid": 2}]
WIDTH, HEIGHT = 64, 48


def coco_json(file_name: str, **annotation) -> str:
    ann = {"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 2, 10, 10], "iscrowd": 0, **annotation}
    return json.dumps(
        {
            "images": [{"id": 1, "file_name": file_name, "width": WIDTH, "height": HEIGHT}],
            "categories": [{"id": 1, "name": "car"}],
            "annotations": [ann],
        }
    )


def voc_xml(file_name: str, body: str = "<bndbox><xmin>2</xmin><ymin>2</ymin><xmax>12</xmax><ymax>12</ymax></bndbox>"):
    return (
        f"<annotation><filename>{file_name}</filename><size><width>{WIDTH}</width><height>{HEIGHT}</height>"
        f"<depth>3</depth></size><object><name>car</name>{body}</object></annotation>"
    )


def mask_png(array: np.ndarray, ext: str = ".png") -> bytes:
    return cv2.imencode(ext, array)[1].tobytes()


def good_mask() -> bytes:
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    mask[4:20, 6:30] = 1
    return mask_png(mask)


def palette_png() -> bytes:
    from PIL import Image

    image = Image.new("P", (WIDTH, HEIGHT), 1)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    "<annotation><filename>one.png</filename><object><name>&lol3;</name></object></annotation>"
)

# Good files (annotating two.png) per format: each case's upload carries them.
GOOD_ANNOTATIONS = {
    "coco": {"good.json": coco_json("two.png")},
    "yolo": {"classes.txt": "car\nperson\n", "two.txt": "0 0.5 0.5 0.25 0.25\n"},
    "voc": {"Annotations/two.xml": voc_xml("two.png")},
    "gt_masks": {"two.png": good_mask()},
}
GOOD_FILE = {"coco": "good.json", "yolo": "two.txt", "voc": "Annotations/two.xml", "gt_masks": "two.png"}


@dataclass(frozen=True)
class AnnotationCase:
    id: str
    format: str
    files: Callable[[], dict[str, str | bytes]]  # the hostile files (annotating one.png)
    refused: dict[str, tuple[str, ...]]  # file in the report -> words of its reason
    whole_upload: bool = False  # the whole upload is refused (the good file with it)
    settings: dict = field(default_factory=dict)
    with_good_files: bool = True


ANNOTATION_CASES = [
    AnnotationCase(
        "coco_truncated_json",
        "coco",
        lambda: {"bad.json": coco_json("one.png")[:80]},
        {"bad.json": ("not valid COCO JSON", "truncated or malformed")},
    ),
    AnnotationCase(
        "coco_nan_vertex",
        "coco",
        lambda: {"bad.json": coco_json("one.png", segmentation=[[1, 1, float("nan"), 5, 9, 9]])},
        {"bad.json": ("not valid COCO JSON",)},
    ),
    AnnotationCase(
        "coco_bbox_of_strings",
        "coco",
        lambda: {"bad.json": coco_json("one.png", bbox=["a", "b", 1, 2])},
        {"bad.json": ("shape(s) refused", "nothing written", "finite number")},
    ),
    AnnotationCase(
        "coco_images_not_a_list",
        "coco",
        lambda: {"bad.json": json.dumps({"images": {"id": 1}, "annotations": "none", "categories": 3})},
        {"bad.json": ("no images",)},
    ),
    AnnotationCase(
        "coco_annotation_naming_a_missing_image",
        "coco",
        lambda: {"bad.json": coco_json("one.png", image_id=9)},
        {"bad.json": ("image_id", "does not list", "no shape to import")},
    ),
    AnnotationCase(
        "coco_upload_without_any_coco_file",
        "coco",
        lambda: {"readme.md": "these are not annotations", "data.json": "[1, 2, 3]"},
        {"upload.zip": ("no COCO instances annotation file found",)},
        whole_upload=True,
        with_good_files=False,
    ),
    AnnotationCase(
        "yolo_words_instead_of_numbers",
        "yolo",
        lambda: {"one.txt": "car 0.5 0.5 0.2 0.2\n"},
        {"one.txt": ("shape(s) refused", "not numbers", "car 0.5")},
    ),
    AnnotationCase(
        "yolo_class_id_out_of_range",
        "yolo",
        lambda: {"one.txt": "7 0.5 0.5 0.2 0.2\n"},
        {"one.txt": ("shape(s) refused", "class 7 is not in the class file")},
    ),
    AnnotationCase(
        "yolo_wrong_number_of_values",
        "yolo",
        lambda: {"one.txt": "0 0.5 0.5 0.2\n"},
        {"one.txt": ("shape(s) refused", "3 values after the class")},
    ),
    AnnotationCase(
        "yolo_nan_and_inf",
        "yolo",
        lambda: {"one.txt": "0 nan 0.5 inf 0.2\n"},
        {"one.txt": ("shape(s) refused", "finite number")},
    ),
    AnnotationCase(
        "yolo_binary_garbage",
        "yolo",
        lambda: {"one.txt": bytes(range(256)) * 4},
        {"one.txt": ("shape(s) refused", "not numbers")},
    ),
    AnnotationCase(
        "voc_not_xml",
        "voc",
        lambda: {"Annotations/one.xml": voc_xml("one.png")[:60]},
        {"Annotations/one.xml": ("not valid XML",)},
    ),
    AnnotationCase(
        "voc_entity_expansion_bomb",
        "voc",
        lambda: {"Annotations/one.xml": BILLION_LAUGHS},
        {"Annotations/one.xml": ("not valid XML", "entit")},
    ),
    AnnotationCase(
        "voc_bndbox_not_numbers",
        "voc",
        lambda: {"Annotations/one.xml": voc_xml("one.png", "<bndbox><xmin>left</xmin></bndbox>")},
        {"Annotations/one.xml": ("shape(s) refused", "bndbox needs numeric xmin, ymin, xmax, ymax")},
    ),
    AnnotationCase(
        "voc_other_xml_root",
        "voc",
        lambda: {"Annotations/one.xml": "<html><body>one.png</body></html>"},
        {"Annotations/one.xml": ("not a Pascal VOC annotation", "<html>")},
    ),
    AnnotationCase(
        "gt_mask_rgb",
        "gt_masks",
        lambda: {"one.png": mask_png(np.full((HEIGHT, WIDTH, 3), 1, np.uint8))},
        {"one.png": ("colour (RGB)", "single-channel")},
    ),
    AnnotationCase(
        "gt_mask_16_bit",
        "gt_masks",
        lambda: {"one.png": mask_png(np.full((HEIGHT, WIDTH), 1, np.uint16))},
        {"one.png": ("16-bit", "8-bit")},
    ),
    AnnotationCase(
        "gt_mask_all_background",
        "gt_masks",
        lambda: {"one.png": mask_png(np.zeros((HEIGHT, WIDTH), np.uint8))},
        {"one.png": ("every pixel is 0", "nothing to import")},
    ),
    AnnotationCase(
        "gt_mask_palette",
        "gt_masks",
        lambda: {"one.png": palette_png()},
        {"one.png": ("palette",)},
    ),
    AnnotationCase(
        "gt_mask_jpeg",
        "gt_masks",
        lambda: {"one.png": mask_png(np.full((HEIGHT, WIDTH), 1, np.uint8), ".jpg")},
        {"one.png": ("a JPEG", "lossless")},
    ),
    AnnotationCase(
        "gt_mask_header_claiming_50000x50000",
        "gt_masks",
        lambda: {"one.png": png_claiming(50_000, 50_000, colour_type=0)},
        {"one.png": ("50000x50000", "not a sane mask size")},
    ),
    AnnotationCase(
        "gt_mask_text_named_png",
        "gt_masks",
        lambda: {"one.png": "not an image\n"},
        {"one.png": ("not a PNG",)},
    ),
    AnnotationCase(
        "annotation_zip_bomb",
        "coco",
        lambda: {"huge.json": "0" * 2_000_000},
        {"upload.zip": ("unpacks to 2,0", "at most 1,000,000 bytes", "zip bomb")},
        whole_upload=True,
        settings={"EXPORTS_IMPORT_MAX_EXTRACTED_BYTES": 1_000_000},
    ),
]


@pytest.fixture
def frames_project(world_a, make_project, stub_worker):
    """An image project with one.png and two.png, uploaded and ingested like any media."""
    project = make_project(world_a, "image", labels=LABELS)
    files = {"one.png": png(1, WIDTH, HEIGHT), "two.png": png(2, WIDTH, HEIGHT)}
    job = upload_media(world_a.client("manager"), project, files, stub_worker)
    assert job.result["accepted"] == 2
    return project


def upload_annotations(client, project, fmt: str, files: dict[str, str | bytes], worker) -> Import:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    upload = SimpleUploadedFile("upload.zip", buffer.getvalue())
    response = client.post(
        f"/api/v1/projects/{project.pk}/annotation-imports", {"format": fmt, "file": upload}, format="multipart"
    )
    assert response.status_code == 202, response.content
    worker.join("exports", timeout=JOIN_MS)
    return Import.objects.select_related("job").get(pk=response.json()["id"])


def imported_on(project, name: str) -> int:
    task = Task.objects.get(project=project, name=name)
    return Annotation.objects.filter(task=task, source=Source.IMPORTED).count()


@pytest.mark.parametrize("case", ANNOTATION_CASES, ids=lambda case: case.id)
def test_hostile_annotation_files_are_refused_with_their_reason_and_write_nothing(
    case, world_a, frames_project, stub_worker, settings
):
    for name, value in case.settings.items():
        setattr(settings, name, value)
    project = frames_project
    client = world_a.client("manager")
    good = GOOD_ANNOTATIONS[case.format] if case.with_good_files else {}
    record = upload_annotations(client, project, case.format, {**case.files(), **good}, stub_worker)
    assert record.status == "succeeded", record.job.message

    body = client.get(f"/api/v1/annotation-imports/{record.pk}").json()
    entries: dict[str, list[dict]] = {}
    for entry in body["report"]["files"]:
        entries.setdefault(entry["file"], []).append(entry)
    for name, words in case.refused.items():
        assert name in entries, f"{name} not in the report: {sorted(entries)}"
        assert all(entry["status"] == "refused" for entry in entries[name]), entries[name]
        reason = " ".join(
            part
            for entry in entries[name]
            for part in [entry["reason"], *(shape.get("reason", "") for shape in entry.get("shapes", []))]
        )
        for word in words:
            assert word.lower() in reason.lower(), f"{word!r} not in {reason!r}"
    assert imported_on(project, "one.png") == 0  # a refused file writes nothing
    if case.whole_upload:
        assert body["report"]["totals"]["accepted"] == 0 and imported_on(project, "two.png") == 0
    else:
        assert [entry["status"] for entry in entries[GOOD_FILE[case.format]]] == ["accepted"], entries
        assert imported_on(project, "two.png") == 1
    assert stored_files(project) == referenced_files(project)

    # The worker survived: the next import on it works.
    for name, value in case.settings.items():
        setattr(settings, name, type(value)(10**9))
    again = upload_annotations(client, project, case.format, GOOD_ANNOTATIONS[case.format], stub_worker)
    assert again.status == "succeeded" and again.report["totals"]["accepted"] == 1, again.report
