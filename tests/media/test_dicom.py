"""DICOM: series grouped by SeriesInstanceUID and ordered, multi-frame expanded, compressed
syntaxes decoded, modality LUT + VOI window to 8 bits (presets, overrides, MONOCHROME1),
key metadata exposed, patient identity stripped when the project says so."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from django.core.files.storage import default_storage
from PIL import Image
from pydicom.data import get_testdata_file

from media import dicom, selectors, synthetic
from media.models import Asset, Frame
from tasks.models import Task
from tests.media.conftest import outcomes

pytestmark = pytest.mark.django_db


def pydicom_file(name: str) -> tuple[str, bytes]:
    path = get_testdata_file(name, download=False)
    assert path, f"{name} ships with pydicom"
    return name, Path(path).read_bytes()


def test_files_group_into_series_by_uid_and_order_by_instance_number(world_a, make_project, ingest):
    project = make_project(world_a, "dicom")
    chest = synthetic.ct_series(5, 32, description="Chest")
    head = synthetic.ct_series(4, 32, description="Head")
    # names that sort the wrong way, series interleaved, one folder for all
    pairs = [(f"mixed/{9 - n}.dcm", data) for n, (_, data) in enumerate(chest[::-1])]
    pairs += [(f"mixed/h{n}.dcm", data) for n, (_, data) in enumerate(head[::-1])]
    job = ingest(project, pairs)
    assert job.result["tasks"] == 2 and job.result["accepted"] == 9
    tasks = {t.name: t for t in Task.objects.filter(project=project)}
    assert set(tasks) == {"CT Chest", "CT Head"}
    frames = Frame.objects.filter(task=tasks["CT Chest"]).order_by("index")
    assert [f.metadata["instance_number"] for f in frames] == [1, 2, 3, 4, 5]
    assert [f.metadata["slice_position"] for f in frames] == [0.0, 2.5, 5.0, 7.5, 10.0]


def test_order_falls_back_to_position_then_natural_file_names(world_a, make_project, ingest):
    project = make_project(world_a, "dicom")
    by_position = synthetic.ct_series(4, 16, description="pos", instance_numbers=False)
    ingest(project, [(f"p/{chr(100 - n)}.dcm", data) for n, (_, data) in enumerate(by_position)])
    task = Task.objects.get(project=project, name="CT pos")
    positions = list(
        Frame.objects.filter(task=task).order_by("index").values_list("metadata__slice_position", flat=True)
    )
    assert positions == sorted(positions)

    by_name = synthetic.ct_series(3, 16, description="names", instance_numbers=False, positions=False)
    names = ["s10.dcm", "s2.dcm", "s1.dcm"]
    ingest(project, [(f"n/{name}", data) for name, (_, data) in zip(names, by_name, strict=True)])
    task = Task.objects.get(project=project, name="CT names")
    order = [f.asset.original_name for f in Frame.objects.filter(task=task).select_related("asset").order_by("index")]
    assert order == ["n/s1.dcm", "n/s2.dcm", "n/s10.dcm"]


def test_multi_frame_files_are_expanded_and_compressed_syntaxes_decode(world_a, make_project, ingest):
    project = make_project(world_a, "dicom")
    job = ingest(
        project,
        [
            pydicom_file("rtdose.dcm"),  # 15 frames
            pydicom_file("examples_ybr_color.dcm"),  # 30-frame JPEG baseline, YBR colour
            pydicom_file("JPEG2000.dcm"),
            pydicom_file("MR_small_RLE.dcm"),
            pydicom_file("MR_small_jp2klossless.dcm"),  # same series as the RLE one
        ],
    )
    assert {o for o, _ in outcomes(job).values()} == {"accepted"}, outcomes(job)
    counts = {t.name: Frame.objects.filter(task=t).count() for t in Task.objects.filter(project=project)}
    assert sorted(counts.values()) == [1, 2, 15, 30]
    colour = next(t for t in Task.objects.filter(project=project) if counts[t.name] == 30)
    picture = selectors.frame_image(colour, 29)
    assert picture.shape == (240, 320, 3) and picture.dtype == np.uint8
    dose = next(t for t in Task.objects.filter(project=project) if counts[t.name] == 15)
    assert [f.asset_frame for f in Frame.objects.filter(task=dose).order_by("index")] == list(range(15))
    assert selectors.frame_image(dose, 14).shape == (10, 10, 3)


def test_ct_without_a_window_uses_the_soft_tissue_preset_and_requests_override_it(world_a, make_project, ingest):
    project = make_project(world_a, "dicom")
    ingest(project, [pydicom_file("CT_small.dcm")])
    task = Task.objects.get(project=project)
    path = get_testdata_file("CT_small.dcm", download=False)
    ds = pydicom.dcmread(path)
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)

    def expected(center, width):
        low, high = center - 0.5 - (width - 1) / 2, center - 0.5 + (width - 1) / 2
        out = ((hu - (center - 0.5)) / (width - 1) + 0.5) * 255
        return np.clip(np.rint(np.where(hu <= low, 0, np.where(hu > high, 255, out))), 0, 255).astype(np.uint8)

    default = selectors.frame_image(task, 0)
    assert np.array_equal(default[:, :, 0], expected(40, 400))
    lung = selectors.frame_image(task, 0, window=dicom.parse_window("lung"))
    assert np.array_equal(lung[:, :, 0], expected(-600, 1500))
    custom = selectors.frame_image(task, 0, window=dicom.parse_window(center=100, width=50))
    assert np.array_equal(custom[:, :, 0], expected(100, 50))

    client = world_a.client("annotator")
    response = client.get(f"/api/v1/tasks/{task.pk}/frames/0?ext=png&window=bone")
    bone = np.asarray(Image.open(io.BytesIO(response.content)))
    assert np.array_equal(bone[:, :, 0] if bone.ndim == 3 else bone, expected(400, 1800))
    response = client.get(f"/api/v1/tasks/{task.pk}/frames/0?ext=png&center=100&width=50")
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(response.content)))[:, :, 0], expected(100, 50))
    assert client.get(f"/api/v1/tasks/{task.pk}/frames/0?window=liverish").status_code == 400
    assert client.get(f"/api/v1/tasks/{task.pk}/frames/0?center=10").status_code == 400
    assert client.get(f"/api/v1/tasks/{task.pk}/frames/0?center=10&width=-5").status_code == 400
    cached = sorted(default_storage.listdir(f"{project.storage_prefix}/cache/frames/{task.pk}")[1])
    assert cached == ["0-bone.png", "0-c100w50.png"]


def test_the_files_own_window_is_used_and_output_is_normalised_to_8_bits(world_a, make_project, ingest):
    project = make_project(world_a, "dicom")
    ingest(project, [pydicom_file("MR_small.dcm")])
    task = Task.objects.get(project=project)
    picture = selectors.frame_image(task, 0)
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm", download=False))
    values = ds.pixel_array.astype(float)
    center, width = float(ds.WindowCenter), float(ds.WindowWidth)
    expected = np.clip(np.rint(((values - (center - 0.5)) / (width - 1) + 0.5) * 255), 0, 255)
    assert np.array_equal(picture[:, :, 0], expected.astype(np.uint8))
    assert picture.max() <= 255 and picture.dtype == np.uint8


def test_monochrome1_is_inverted(tmp_path):
    _, data = synthetic.ct_series(1, 16, window=(40, 400))[0]
    ds = pydicom.dcmread(io.BytesIO(data))
    values, header = dicom.frame_values(_write(tmp_path, ds), 0)
    normal = dicom.render(values, header)
    ds.PhotometricInterpretation = "MONOCHROME1"
    values, header = dicom.frame_values(_write(tmp_path, ds), 0)
    assert np.array_equal(dicom.render(values, header), 255 - normal)


def _write(tmp_path, ds) -> str:
    path = tmp_path / f"{ds.PhotometricInterpretation}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return str(path)


def test_series_metadata_is_exposed_without_patient_identity(world_a, make_project, ingest):
    project = make_project(world_a, "dicom")
    ingest(project, [(f"ct/{n}", d) for n, d in synthetic.ct_series(3, 16, description="Neck", spacing=3.0)])
    task = Task.objects.get(project=project)
    body = world_a.client("reviewer").get(f"/api/v1/tasks/{task.pk}/media").json()
    series = body["dicom"]
    assert series["modality"] == "CT" and series["series_description"] == "Neck"
    assert series["pixel_spacing"] == [0.8, 0.8] and series["slice_thickness"] == 3.0
    assert series["frames"] == 3 and series["window_presets"]["lung"] == {"center": -600.0, "width": 1500.0}
    assert "DOE" not in str(body)
    assert body["thumbnail_url"]


def test_patient_identity_is_stripped_on_ingest_when_the_project_says_so(world_a, make_project, ingest):
    kept = make_project(world_a, "dicom")
    stripped = make_project(world_a, "dicom", strip_patient_identity=True)
    series = synthetic.ct_series(2, 16)
    ingest(kept, series)
    ingest(stripped, series)
    for project, identified in ((kept, True), (stripped, False)):
        for asset in Asset.objects.filter(project=project):
            with default_storage.open(asset.file, "rb") as handle:
                ds = pydicom.dcmread(handle)
            assert (str(ds.PatientName) == "DOE^JANE") is identified
            assert (ds.get("InstitutionName") is not None) is identified
            assert (0x00091001 in ds) is identified  # private tags go too
            if not identified:
                assert ds.PatientIdentityRemoved == "YES" and ds.PatientID == ""
                assert ds.SeriesInstanceUID and ds.PatientSex == "F"  # research data kept
    task = Task.objects.get(project=stripped)
    assert selectors.frame_image(task, 1).shape == (16, 16, 3)


def test_a_broken_slice_refuses_its_whole_series_and_no_task_is_made(world_a, make_project, ingest):
    project = make_project(world_a, "dicom")
    series = synthetic.ct_series(3, 16)
    name, data = series[1]
    ds = pydicom.dcmread(io.BytesIO(data))
    ds.PixelData = ds.PixelData[:100]  # truncated pixels
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    job = ingest(project, [series[0], (name, buffer.getvalue()), series[2]])
    result = outcomes(job)
    assert result[name] == ("refused", "undecodable")
    assert result[series[0][0]] == ("refused", "group_refused")
    assert not Task.objects.filter(project=project).exists() and not Asset.objects.filter(project=project).exists()
    assert not default_storage.exists(f"{project.storage_prefix}/originals/{job.pk}/{name}")
