"""``manage.py verify_storage``: every stored file the database references exists, orphans
are listed (and deleted only when asked, confirmed and old enough), on local storage and on
S3 (moto_server)."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from exports.services.exports import request_export, run_export
from exports.services.imports import request_import
from media import synthetic
from media.models import Asset
from media.selectors import frame_bytes
from media.services.uploads import append_chunk, create_upload
from media.storage import inbox_prefix, put_file
from ml.services.registry import register_model
from tasks.models import Task
from tests.media.test_s3 import BUCKET, moto_endpoint, s3_storage  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def verify(*args: str) -> tuple[int, dict]:
    """Run the command with --json: (exit status, report)."""
    out = io.StringIO()
    try:
        call_command("verify_storage", "--json", *args, stdout=out)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, json.loads(out.getvalue())


def torchscript_layout() -> ContentFile:
    """A file with TorchScript's archive layout (what registration checks; never loaded here)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model/data.pkl", b"\x80\x02}q\x00.")
        archive.writestr("model/code/__torch__.py", "")
    return ContentFile(buffer.getvalue(), name="model.pt")


def fill(world, make_project, ingest) -> dict:
    """A project with every kind of stored file: originals, thumbnails, a poster, a frame
    cache entry, an export archive, an annotation import upload, an open resumable upload's
    chunk, a registered model and an inbox file."""
    images = make_project(world, "image")
    ingest(images, [("a.png", synthetic.image_bytes(32, 24, seed=1)), ("b.png", synthetic.image_bytes(32, 24, seed=2))])
    videos = make_project(world, "video")
    ingest(videos, [("clip.mp4", synthetic.video_bytes(frames=3, size=(32, 24)))])
    task = Task.objects.filter(project=images).first()
    frame_bytes(task, 0)  # the frame cache
    export = request_export(actor=world.owner, project=images, format="coco", queue=False)
    run_export(export.pk)
    annotation_import = request_import(
        actor=world.owner, project=images, format="coco", upload=SimpleUploadedFile("coco.json", b"{}")
    )
    upload = create_upload(actor=world.owner, project=images, filename="big.png", size=100)
    append_chunk(upload=upload, offset=0, data=b"x" * 40)
    model = register_model(
        actor=world.owner,
        organization=world.org,
        name="detector",
        kind="detection",
        file=torchscript_layout(),
        input_width=64,
        input_height=64,
        label_map=[{"index": 0, "name": "car"}],
    )
    put_file(f"{inbox_prefix(world.org.pk)}/later/c.png", synthetic.image_bytes(8, 8, seed=3))
    export.refresh_from_db()
    return {
        "images": images,
        "videos": videos,
        "task": task,
        "export": export,
        "import": annotation_import,
        "model": model,
    }


def test_a_consistent_store_passes_and_kept_files_are_not_orphans(world_a, make_project, ingest):
    made = fill(world_a, make_project, ingest)
    code, report = verify()
    assert code == 0 and report["ok"], report
    assert report["missing"] == [] and report["orphans"] == []
    assert report["kept_files"] == 3  # the inbox file, the upload chunk, the frame cache entry
    # originals + thumbnails (2 images), original + thumbnail + poster (video), export, import upload, model
    assert report["referenced_files"] == 4 + 3 + 3
    assert report["stored_files"] == report["referenced_files"] + report["kept_files"]
    assert made["export"].file_path and report["storage"] == str(default_storage.location)


def test_missing_files_are_named_with_their_row_and_fail_the_check(world_a, make_project, ingest):
    made = fill(world_a, make_project, ingest)
    asset = Asset.objects.filter(project=made["images"]).first()
    default_storage.delete(asset.thumbnail_path)
    default_storage.delete(made["export"].file_path)
    default_storage.delete(made["model"].file)
    code, report = verify()
    assert code == 1 and not report["ok"]
    assert {(m["path"], m["what"]) for m in report["missing"]} == {
        (asset.thumbnail_path, f"asset {asset.pk} thumbnail"),
        (made["export"].file_path, f"export {made['export'].pk} archive"),
        (made["model"].file, f"model {made['model'].pk} file"),
    }
    out = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("verify_storage", stdout=out)
    assert exited.value.code == 1
    assert f"MISSING {asset.thumbnail_path}" in out.getvalue() and "FAILED" in out.getvalue()


def test_orphans_are_listed_and_deleted_only_when_confirmed_and_old_enough(world_a, make_project, ingest):
    made = fill(world_a, make_project, ingest)
    prefix = made["images"].storage_prefix
    stray = put_file(f"{prefix}/originals/999/left-behind.png", b"stray bytes")
    dead_cache = put_file(f"{prefix}/cache/frames/987654/0-default.jpeg", b"cache of a deleted task")
    dead_chunk = put_file(f"{prefix}/uploads/987654/{0:016d}.part", b"chunk of a deleted upload")
    code, report = verify()
    assert code == 0  # orphans alone do not fail the check...
    assert [o["path"] for o in report["orphans"]] == sorted([stray, dead_cache, dead_chunk])
    assert verify("--fail-on-orphans")[0] == 1  # ...unless asked to

    with pytest.raises(CommandError, match="add --yes") as refused:
        call_command("verify_storage", "--delete-orphans", stdout=io.StringIO())
    assert refused.value.returncode == 2
    _, report = verify("--delete-orphans", "--yes")  # younger than 24 h: kept
    assert report["deleted"] == [] and default_storage.exists(stray)

    old = time.time() - 2 * 3600
    for path in (stray, dead_cache):
        os.utime(default_storage.path(path), (old, old))
    _, report = verify("--delete-orphans", "--yes", "--min-age-hours", "1")
    assert report["deleted"] == sorted([stray, dead_cache])
    assert not default_storage.exists(stray) and default_storage.exists(dead_chunk)
    code, report = verify()
    assert code == 0 and [o["path"] for o in report["orphans"]] == [dead_chunk] and report["missing"] == []


def test_one_organization_is_checked_alone(world_a, world_b, make_project, ingest):
    fill(world_a, make_project, ingest)
    other = make_project(world_b, "image")
    ingest(other, [("z.png", synthetic.image_bytes(16, 16, seed=9))])
    stray_b = put_file(f"{other.storage_prefix}/originals/1/stray.png", b"b's stray")
    b_asset = Asset.objects.get(project=other)
    default_storage.delete(b_asset.file)
    code, report = verify("--organization", world_a.org.slug)
    assert code == 0 and report["orphans"] == [] and report["scope"].startswith(f"organization {world_a.org.pk}")
    code, report = verify("--organization", str(world_b.org.pk))
    assert code == 1
    assert [m["path"] for m in report["missing"]] == [b_asset.file]
    assert [o["path"] for o in report["orphans"]] == [stray_b]
    with pytest.raises(CommandError, match="No organization") as unknown:
        call_command("verify_storage", "--organization", "nobody", stdout=io.StringIO())
    assert unknown.value.returncode == 2


def test_verify_storage_on_s3(world_a, make_project, ingest, s3_storage):  # noqa: F811
    from media.storage import is_s3

    assert is_s3()
    made = fill(world_a, make_project, ingest)
    code, report = verify()
    assert code == 0 and report["missing"] == [] and report["orphans"] == [], report
    assert report["storage"] == f"s3://{BUCKET}/tenant-data" and report["kept_files"] == 3

    asset = Asset.objects.filter(project=made["videos"]).get()
    s3_storage.delete_object(Bucket=BUCKET, Key=f"tenant-data/{asset.poster_path}")
    stray = f"{made['images'].storage_prefix}/originals/42/stray.png"
    s3_storage.put_object(Bucket=BUCKET, Key=f"tenant-data/{stray}", Body=b"stray")
    s3_storage.put_object(Bucket=BUCKET, Key="outside-the-prefix/not-ours.txt", Body=b"other tenant data")
    code, report = verify()
    assert code == 1
    assert [(m["path"], m["what"]) for m in report["missing"]] == [(asset.poster_path, f"asset {asset.pk} poster")]
    assert [o["path"] for o in report["orphans"]] == [stray]  # only what lies under the storage's prefix
    _, report = verify("--delete-orphans", "--yes", "--min-age-hours", "0")
    assert report["deleted"] == [stray]
    keys = {o["Key"] for o in s3_storage.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    assert f"tenant-data/{stray}" not in keys and "outside-the-prefix/not-ours.txt" in keys
    assert f"tenant-data/{made['export'].file_path}" in keys
