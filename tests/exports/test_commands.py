"""``manage.py export`` and ``manage.py import``: outputs and exit codes scripts can rely on
(0 done; 1 failed; 2 bad command line; import: 3 imported in part)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from annotations.models import Annotation, Source
from exports.models import Export

pytestmark = pytest.mark.django_db


def run_command(*args) -> tuple[int, str, str]:
    """Call the command like the shell does: (exit status, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), str(exc)
    except SystemExit as exc:
        return int(exc.code), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_export_to_a_zip_file(studio, tmp_path):
    target = tmp_path / "out" / "coco.zip"
    code, out, _ = run_command(
        "export", "--project", str(studio.project.pk), "--format", "coco", "--out", str(target), "--no-progress"
    )
    assert code == 0 and "Exported 3 frame(s)" in out
    assert "annotations/instances_default.json" in zipfile.ZipFile(target).namelist()


def test_export_to_a_folder_with_scope_split_and_options(clip, tmp_path):
    code, out, _ = run_command(
        "export",
        "--project", str(clip.project.pk),
        "--format", "segmentation_results",
        "--scope", "frames:2-3",
        "--option", "outputs=gt_label,class_map",
        "--option", "folder_names=original",
        "--out", str(tmp_path / "seg"),
        "--no-progress",
    )  # fmt: skip
    assert code == 0, out
    assert sorted(p.name for p in (tmp_path / "seg" / "GT_label图").iterdir()) == [
        "clip_0h00m01s040ms_frame000002.png",
        "clip_0h00m01s080ms_frame000003.png",
    ]


def test_export_without_out_is_stored_and_listed(studio):
    code, out, _ = run_command(
        "export",
        "--project",
        str(studio.project.pk),
        "--format",
        "yolo",
        "--user",
        studio.world.owner.username,
        "--no-progress",
    )
    assert code == 0 and "storage:" in out
    export = Export.objects.get(project=studio.project)
    assert export.status == "succeeded" and export.created_by == studio.world.owner and export.size_bytes > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--project", "999999", "--format", "coco"], "No project with id"),
        (["--format", "coco", "--scope", "frames:x"], "numbers expected"),
        (["--format", "coco", "--scope", "frames:5-2"], "frame_end"),
        (["--format", "coco", "--option", "segmentation=bitmap"], "options.segmentation"),
        (["--format", "coco", "--split", "ratio:0.5,0.5"], "--split"),
    ],
)
def test_export_failures_exit_1_with_the_reason(studio, args, message):
    if "--project" not in args:
        args = ["--project", str(studio.project.pk), *args]
    code, _, error = run_command("export", *args, "--out", "/nonexistent-never-written.zip", "--no-progress")
    assert code == 1 and message in error


def test_import_exit_codes_and_report(studio, tmp_path):
    folder = tmp_path / "yolo"
    folder.mkdir()
    (folder / "classes.txt").write_text("car\n")
    (folder / "one.txt").write_text("0 0.5 0.5 0.25 0.25\n")
    code, out, _ = run_command(
        "import", str(folder), "--project", str(studio.project.pk), "--format", "yolo", "--no-progress"
    )
    assert code == 0 and "1 accepted" in out
    assert Annotation.objects.filter(task=studio.tasks[0], source=Source.IMPORTED).count() == 1
    (folder / "nowhere.txt").write_text("0 0.5 0.5 0.25 0.25\n")
    report = tmp_path / "report.json"
    code, out, _ = run_command(
        "import", str(folder), "--project", str(studio.project.pk), "--format", "yolo", "--dry-run",
        "--report", str(report), "--no-progress",
    )  # fmt: skip
    assert code == 3 and "1 refused" in out
    assert json.loads(report.read_text())["totals"]["refused"] == 1
    (folder / "one.txt").unlink()
    code, _, error = run_command(
        "import", str(folder), "--project", str(studio.project.pk), "--format", "yolo", "--no-progress"
    )
    assert code == 1 and "Every file was refused" in error
    code, _, error = run_command(
        "import", str(tmp_path / "missing"), "--project", str(studio.project.pk), "--format", "yolo"
    )
    assert code == 1 and "does not exist" in error


def test_help_and_usage_errors_from_the_shell():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "annotator.test_settings"}
    manage = Path(settings.BASE_DIR) / "manage.py"
    for command in ("export", "import"):
        shown = subprocess.run(
            [sys.executable, str(manage), command, "--help"], capture_output=True, text=True, env=env
        )
        assert shown.returncode == 0 and "--project" in shown.stdout and "--format" in shown.stdout
    bad = subprocess.run(
        [sys.executable, str(manage), "export", "--format", "tiff"], capture_output=True, text=True, env=env
    )
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
