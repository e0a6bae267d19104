"""Imports through the API: multipart upload of many files, archives (safely), registration
from the organization's inbox, per-file outcomes with a reason for every refusal, and the
import history."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from media import synthetic
from media.models import Asset, ImportFile
from media.storage import inbox_prefix, put_file
from tasks.models import Task
from tests.media.conftest import outcomes, run_import_now, zip_bytes

pytestmark = pytest.mark.django_db

PNG = synthetic.image_bytes(24, 16, seed=7)


def upload(client, project, files: dict[str, bytes], **extra):
    payload = {"files": [SimpleUploadedFile(name, data) for name, data in files.items()], **extra}
    return client.post(f"/api/v1/projects/{project.pk}/imports", payload, format="multipart")


def test_multipart_upload_of_many_files_makes_an_import_job(world_a, make_project):
    project = make_project(world_a, "image")
    files = {f"img{n}.png": synthetic.image_bytes(20, 20, seed=n) for n in range(3)}
    response = upload(world_a.client("manager"), project, files)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["source"] == "upload" and body["progress_total"] == 3
    assert response["Job-Id"] == str(body["id"])
    job = run_import_now(body["id"])
    assert job.status == "succeeded"
    assert Task.objects.filter(project=project).count() == 3
    detail = world_a.client("annotator").get(f"/api/v1/projects/{project.pk}/imports/{job.pk}").json()
    assert detail["counts"] == {"files": 3, "accepted": 3, "refused": 0, "duplicate": 0, "pending": 0, "tasks": 3}
    assert detail["created_by"] == world_a.user("manager").username
    assert "check_seconds" in detail["timings"] and detail["finished_at"]


def test_each_refusal_reason_is_reported_per_file_without_failing_the_batch(world_a, make_project, settings):
    settings.MAX_UPLOAD_BYTES = 60_000
    settings.MEDIA_MAX_IMAGE_PIXELS = 200 * 200
    project = make_project(world_a, "image")
    files = {
        "ok.png": PNG,
        "big.png": b"\x89PNG\r\n\x1a\n" + b"0" * 70_000,  # too large (checked at upload)
        "empty.png": b"",
        "doc.png": b"%PDF-1.4 not an image",
        "clip.png": synthetic.video_bytes(frames=2, size=(32, 24)),  # a video in an image project
        "broken.png": PNG[:60],  # truncated
        "huge.png": synthetic.image_bytes(300, 300),  # above the pixel limit
        "copy.png": PNG,  # same content as ok.png
        "tool.exe": b"MZ\x90\x00" + b"\x00" * 100,
    }
    client = world_a.client()
    paths = [*list(files)[:-1], "../../etc/tool.exe"]  # the last one tries to climb out
    job_id = upload(client, project, files, paths=paths).json()["id"]
    job = run_import_now(job_id)
    assert job.status == "succeeded"
    result = outcomes(job)
    assert result == {
        "ok.png": ("accepted", ""),
        "big.png": ("refused", "too_large"),
        "empty.png": ("refused", "empty"),
        "doc.png": ("refused", "unsupported_type"),
        "clip.png": ("refused", "wrong_kind"),
        "broken.png": ("refused", "undecodable"),
        "huge.png": ("refused", "too_many_pixels"),
        "copy.png": ("duplicate", "duplicate"),
        "../../etc/tool.exe": ("refused", "unsafe_name"),
    }
    reasons = {f.name: f.reason for f in ImportFile.objects.filter(job=job)}
    assert "PDF" in reasons["doc.png"] and "images" in reasons["doc.png"]
    assert "video" in reasons["clip.png"] and "Image project" in reasons["clip.png"]
    assert "ok.png" in reasons["copy.png"]
    assert job.result["accepted"] == 1 and job.result["refused"] == 7 and job.result["duplicate"] == 1
    assert any(e.startswith("huge.png:") for e in job.errors)
    # refused bytes are not kept; the accepted one is the only original left
    assert default_storage.listdir(f"{project.storage_prefix}/originals/{job.pk}")[1] == ["ok.png"]
    listed = client.get(f"/api/v1/projects/{project.pk}/imports/{job.pk}/files?outcome=refused").json()
    assert listed["count"] == 7 and all(row["reason"] for row in listed["results"])


def test_duplicates_are_detected_across_imports_of_a_project_but_not_across_projects(world_a, make_project, ingest):
    first = make_project(world_a, "image")
    second = make_project(world_a, "image")
    ingest(first, [("a.png", PNG)])
    again = ingest(first, [("renamed.png", PNG)])
    assert outcomes(again) == {"renamed.png": ("duplicate", "duplicate")}
    row = ImportFile.objects.get(job=again)
    assert row.task == Task.objects.get(project=first) and "a.png" in row.reason
    other = ingest(second, [("a.png", PNG)])
    assert outcomes(other) == {"a.png": ("accepted", "")}


def test_text_projects_take_utf8_text_files_as_task_text(world_a, make_project, ingest):
    project = make_project(world_a, "text")
    job = ingest(
        project,
        [
            ("note.txt", "Café au lait, Zürich.\nLine two.".encode()),
            ("bom.txt", b"\xef\xbb\xbfwith a BOM"),
            ("latin1.txt", "naïve".encode("latin-1")),
            ("picture.txt", PNG),
        ],
    )
    result = outcomes(job)
    assert result["note.txt"] == ("accepted", "") and result["bom.txt"] == ("accepted", "")
    assert result["latin1.txt"] == ("refused", "not_utf8") and result["picture.txt"] == ("refused", "wrong_kind")
    assert Task.objects.get(project=project, name="note.txt").text == "Café au lait, Zürich.\nLine two."
    assert Task.objects.get(project=project, name="bom.txt").text == "with a BOM"


def test_video_refusals_name_the_reason(world_a, make_project, ingest, settings):
    project = make_project(world_a, "video")
    good = synthetic.video_bytes(frames=3, size=(32, 24))
    settings.MEDIA_MAX_VIDEO_SECONDS = 0
    job = ingest(project, [("long.mp4", good), ("cut.mp4", good[: len(good) // 3])])
    result = outcomes(job)
    assert result["long.mp4"] == ("refused", "too_long")
    assert result["cut.mp4"] == ("refused", "undecodable")
    assert not Task.objects.filter(project=project).exists()


# --- archives ------------------------------------------------------------------------------
def test_zip_archive_members_become_tasks_and_sequences_keep_their_folders(world_a, make_project, ingest):
    project = make_project(world_a, "sequential_image")
    archive = zip_bytes(
        {
            "walk/1.png": synthetic.image_bytes(16, 16, seed=1),
            "walk/2.png": synthetic.image_bytes(16, 16, seed=2),
            "run/1.png": synthetic.image_bytes(16, 16, seed=3),
            "__MACOSX/walk/._1.png": b"junk",
            ".DS_Store": b"junk",
        }
    )
    job = ingest(project, [("clips.zip", archive)])
    result = outcomes(job)
    assert result["clips.zip"] == ("expanded", "")
    assert {k: v for k, v in result.items() if k != "clips.zip"} == {
        "walk/1.png": ("accepted", ""),
        "walk/2.png": ("accepted", ""),
        "run/1.png": ("accepted", ""),
    }
    assert sorted(Task.objects.filter(project=project).values_list("name", flat=True)) == ["run", "walk"]
    assert job.result["files"] == 3  # the archive itself is not counted as a file


def test_tar_gz_archives_are_expanded_too(world_a, make_project, ingest):
    project = make_project(world_a, "image")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name in ("a.png", "b.png"):
            data = synthetic.image_bytes(16, 16, seed=ord(name[0]))
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    job = ingest(project, [("photos.tar.gz", buffer.getvalue())])
    assert job.result["accepted"] == 2


def _zip_with_raw_names(entries: list[tuple[str, bytes, int | None]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode is not None:
                info.external_attr = mode << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def test_unsafe_archive_members_are_refused_and_nothing_escapes(world_a, make_project, ingest, tmp_path):
    project = make_project(world_a, "image")
    archive = _zip_with_raw_names(
        [
            ("../../escape.png", PNG, None),
            ("/etc/absolute.png", synthetic.image_bytes(8, 8, seed=2), None),
            ("link.png", b"/etc/passwd", stat.S_IFLNK | 0o777),
            ("inner.zip", zip_bytes({"x.png": PNG}), None),
            ("bomb.png", b"\x89PNG" + b"\x00" * 2_000_000, None),
            ("fine.png", synthetic.image_bytes(8, 8, seed=3), None),
        ]
    )
    job = ingest(project, [("evil.zip", archive)])
    result = outcomes(job)
    assert result["../../escape.png"] == ("refused", "unsafe_path")
    assert result["/etc/absolute.png"] == ("refused", "unsafe_path")
    assert result["link.png"] == ("refused", "link_in_archive")
    assert result["inner.zip"] == ("refused", "nested_archive")
    assert result["bomb.png"] == ("refused", "archive_bomb")
    assert result["fine.png"] == ("accepted", "")
    media_root = default_storage.location
    for root, _dirs, files in os.walk(media_root):
        assert os.path.realpath(root).startswith(os.path.realpath(media_root))
        assert "escape.png" not in files and "passwd" not in files


@override_settings(MEDIA_MAX_ARCHIVE_EXPANDED_BYTES=50_000)
def test_an_archive_expanding_past_the_limit_is_refused_whole(world_a, make_project, ingest):
    project = make_project(world_a, "image")
    archive = zip_bytes({f"{n}.png": os.urandom(20_000) for n in range(4)}, compression=zipfile.ZIP_STORED)
    job = ingest(project, [("big.zip", archive)])
    assert outcomes(job) == {"big.zip": ("refused", "archive_too_big")}
    corrupt = ingest(project, [("bad.zip", b"PK\x03\x04" + b"garbage" * 10)])
    assert outcomes(corrupt) == {"bad.zip": ("refused", "archive_corrupt")}


# --- registration --------------------------------------------------------------------------
def test_register_files_already_in_the_organization_inbox(world_a, world_b, make_project):
    project = make_project(world_a, "image")
    base = inbox_prefix(world_a.org.pk)
    put_file(f"{base}/batch1/a.png", synthetic.image_bytes(16, 16, seed=1))
    put_file(f"{base}/batch1/sub/b.png", synthetic.image_bytes(16, 16, seed=2))
    put_file(f"{base}/other/c.png", synthetic.image_bytes(16, 16, seed=3))
    put_file(f"{base}/batch1/bad.png", b"not an image at all")
    client = world_a.client("manager")
    response = client.post(f"/api/v1/projects/{project.pk}/imports/register", {"prefix": "batch1"}, format="json")
    assert response.status_code == 202, response.content
    job = run_import_now(response.json()["id"])
    result = outcomes(job)
    assert result == {"a.png": ("accepted", ""), "sub/b.png": ("accepted", ""), "bad.png": ("refused", "wrong_kind")}
    # registered files stay where they are, refused ones are not deleted (they are the organization's)
    assert Asset.objects.get(original_name="a.png").file == f"{base}/batch1/a.png"
    assert default_storage.exists(f"{base}/batch1/bad.png")
    for prefix in ("../b", "/abs", "a/../../x"):
        bad = client.post(f"/api/v1/projects/{project.pk}/imports/register", {"prefix": prefix}, format="json")
        assert bad.status_code == 400
    empty = client.post(f"/api/v1/projects/{project.pk}/imports/register", {"prefix": "nothing"}, format="json")
    assert empty.status_code == 400
    # organization B registering "batch1" reads its own inbox, never A's
    other_project = make_project(world_b, "image")
    response = world_b.client().post(
        f"/api/v1/projects/{other_project.pk}/imports/register", {"prefix": "batch1"}, format="json"
    )
    assert response.status_code == 400


def test_import_history_lists_imports_with_counts_in_constant_queries(
    world_a, make_project, ingest, django_assert_max_num_queries
):
    project = make_project(world_a, "image")
    for n in range(3):
        ingest(project, [(f"{n}.png", synthetic.image_bytes(16, 16, seed=n)), ("dup.png", PNG)], actor=world_a.owner)
    client = world_a.client("annotator")
    with django_assert_max_num_queries(12):
        body = client.get(f"/api/v1/projects/{project.pk}/imports").json()
    assert body["count"] == 3
    newest = body["results"][0]
    assert newest["counts"] == {"files": 2, "accepted": 1, "refused": 0, "duplicate": 1, "pending": 0, "tasks": 1}
    assert newest["created_by"] == world_a.owner.username and newest["status"] == "succeeded"
    assert any("duplicate" in error for error in newest["errors"])


def test_only_managers_may_import_and_other_organizations_see_nothing(world_a, world_b, make_project):
    project = make_project(world_a, "image")
    for role in ("reviewer", "annotator"):
        response = upload(world_a.client(role), project, {"a.png": PNG})
        assert response.status_code == 403 and "manager" in response.json()["message"]
    for role in ("owner", "admin", "manager"):
        assert upload(world_a.client(role), project, {f"{role}.png": PNG}).status_code == 202
    assert upload(world_b.client(), project, {"a.png": PNG}).status_code == 404
    assert world_b.client().get(f"/api/v1/projects/{project.pk}/imports").status_code == 404


def test_batch_must_belong_to_the_project(world_a, make_project):
    from tasks.services.tasks import create_batch

    project = make_project(world_a, "image")
    other = make_project(world_a, "image")
    batch = create_batch(actor=world_a.owner, project=other, name="b")
    response = upload(world_a.client(), project, {"a.png": PNG}, batch_id=batch.pk)
    assert response.status_code == 400 and "batch_id" in response.json()["errors"]
    own = create_batch(actor=world_a.owner, project=project, name="own")
    job_id = upload(world_a.client(), project, {"a.png": PNG}, batch_id=own.pk).json()["id"]
    run_import_now(job_id)
    assert Task.objects.get(project=project).batch == own


@override_settings(MEDIA_MAX_ARCHIVE_MEMBERS=3)
def test_more_archive_refusals_tar_links_escapes_encrypted_and_repeated_names(world_a, make_project, ingest):
    import warnings

    project = make_project(world_a, "image")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, kind in (("../up.png", tarfile.REGTYPE), ("/abs.png", tarfile.REGTYPE), ("ln.png", tarfile.SYMTYPE)):
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.SYMTYPE:
                info.linkname = "/etc/passwd"
            else:
                info.size = len(PNG)
            archive.addfile(info, io.BytesIO(PNG) if kind == tarfile.REGTYPE else None)
    result = outcomes(ingest(project, [("t.tar", buffer.getvalue())]))
    assert result["../up.png"] == ("refused", "unsafe_path") and result["/abs.png"] == ("refused", "unsafe_path")
    assert result["ln.png"] == ("refused", "link_in_archive")

    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")  # zipfile warns about the repeated name
        archive.writestr("locked.png", PNG)
        archive.writestr("same.png", synthetic.image_bytes(8, 8, seed=4))
        archive.writestr("same.png", synthetic.image_bytes(8, 8, seed=5))
    data = bytearray(buffer.getvalue())
    central = data.index(b"PK\x01\x02")  # first central directory entry: locked.png
    data[central + 8] |= 0x1  # mark it encrypted (zipfile cannot write encrypted members)
    job = ingest(project, [("z.zip", bytes(data))])
    rows = sorted(ImportFile.objects.filter(job=job, is_archive=False).values_list("name", "outcome", "code"))
    assert rows == [
        ("z/locked.png", "refused", "encrypted"),  # loose files are grouped under the archive's name
        ("z/same.png", "accepted", ""),
        ("z/same.png", "refused", "duplicate_name"),
    ]

    many = zip_bytes({f"{n}.png": synthetic.image_bytes(8, 8, seed=n) for n in range(4)})
    assert outcomes(ingest(project, [("many.zip", many)])) == {"many.zip": ("refused", "archive_refused")}


def test_a_cancelled_import_stops_between_groups(world_a, make_project):
    from jobs.services import request_cancel
    from media.services.imports import Source, start_import
    from tests.media.conftest import files_of

    project = make_project(world_a, "image")
    pairs = [(f"{n}.png", synthetic.image_bytes(8, 8, seed=n)) for n in range(3)]
    job = start_import(actor=world_a.owner, project=project, files=files_of(pairs), source=Source.UPLOAD)
    request_cancel(job)
    job = run_import_now(job.pk)
    assert job.status == "cancelled" and job.result["refused"] == 3
    assert set(outcomes(job).values()) == {("refused", "cancelled")}
    assert not Task.objects.filter(project=project).exists()
    assert not default_storage.exists(f"{project.storage_prefix}/originals/{job.pk}/0.png")


def test_overlong_names_are_refused_not_truncated(world_a, make_project, ingest):
    project = make_project(world_a, "image")
    job = ingest(project, [("deep/" * 90 + "a.png", PNG)])
    assert list(outcomes(job).values()) == [("refused", "unsafe_name")]
