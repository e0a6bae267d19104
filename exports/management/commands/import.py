"""Import annotations into a project from a file, a folder, or a zip / tar archive.

Examples::

    python manage.py import --project 7 --format coco annotations/instances_default.json
    python manage.py import --project 7 --format yolo dataset.zip --unknown-classes create
    python manage.py import --project 7 --format gt_masks GT_label/ --dry-run --report report.json
    python manage.py import --project 7 --format voc voc/ --option shapes=masks --class-map pedestrian=person

Files are matched to tasks by image file name (``Asset.original_name``, or a frame stem
``{media}_frame{NNNNNN}`` as exports write it). Every file is checked before anything of
it is written; a refused file writes nothing. Imported annotations have source "imported".

Exit status: 0 every file imported (some perhaps adapted); 1 failed (bad input, unknown
project or format, or nothing could be imported); 2 bad command line; 3 imported in part
(some files refused — see the report).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from exports.importers import IMPORTERS

PARTIAL = 3


class Command(BaseCommand):
    help = "Import annotations (COCO, YOLO, Pascal VOC, labelme, GT masks) into a project."

    def add_arguments(self, parser):
        parser.add_argument("path", help="An annotation file, a folder, or a .zip / .tar(.gz) archive.")
        parser.add_argument("--project", type=int, required=True, help="Project id.")
        parser.add_argument("--format", required=True, choices=list(IMPORTERS), help="Import format.")
        parser.add_argument(
            "--unknown-classes", choices=["refuse", "create"], default="refuse", help="Class names the project lacks."
        )
        parser.add_argument("--class-map", action="append", default=[], metavar="FROM=TO", help="Rename a class.")
        parser.add_argument(
            "--on-invalid-shape",
            choices=["refuse_file", "skip_shape"],
            default="refuse_file",
            help="A refused shape refuses its whole file (default), or only itself.",
        )
        parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="A format option.")
        parser.add_argument("--dry-run", action="store_true", help="Check and report; write nothing.")
        parser.add_argument("--user", help="Username recorded as the annotations' author.")
        parser.add_argument("--report", help="Write the full per-file report (JSON) here.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **opts):
        from tqdm import tqdm

        from exports.archives import ArchiveRefused, unpack_upload
        from exports.services.imports import clean_import_options, import_folder
        from projects.models import Project

        project = Project.objects.filter(pk=opts["project"]).first()
        if project is None:
            raise CommandError(f"No project with id {opts['project']}.")
        actor = None
        if opts["user"]:
            actor = get_user_model().objects.filter(username=opts["user"]).first()
            if actor is None:
                raise CommandError(f"No user called {opts['user']!r}.")
        source = Path(opts["path"])
        if not source.exists():
            raise CommandError(f"{source} does not exist.")
        options = {}
        for item in opts["option"]:
            key, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"--option {item!r}: use key=value")
            options[key] = value
        class_map = {}
        for item in opts["class_map"]:
            key, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"--class-map {item!r}: use FROM=TO")
            class_map[key] = value
        options.update(
            unknown_classes=opts["unknown_classes"],
            class_map=class_map,
            on_invalid_shape=opts["on_invalid_shape"],
            dry_run=opts["dry_run"],
        )
        try:
            options = clean_import_options(opts["format"], options)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        with tempfile.TemporaryDirectory(prefix="import-") as folder:
            root = source
            if source.is_file():
                try:
                    root = unpack_upload(source, source.name, Path(folder) / "files")
                except ArchiveRefused as exc:
                    raise CommandError(f"{source}: {exc}") from None
            total = sum(1 for p in root.rglob("*") if p.is_file())
            with tqdm(total=total, unit="file", disable=opts["no_progress"], file=sys.stderr, desc="import") as bar:
                report = import_folder(
                    project=project,
                    format=opts["format"],
                    root=root,
                    options=options,
                    actor=actor,
                    on_file=lambda entry: bar.update(1),
                    source_name=source.name,
                )
        totals = report.totals
        for entry in report.files:
            if entry["status"] == "refused":
                self.stderr.write(f"refused {entry['file']} ({entry['image']}): {entry.get('reason', '')}")
        if opts["report"]:
            Path(opts["report"]).write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        verb = "Checked" if opts["dry_run"] else "Imported"
        self.stdout.write(
            f"{verb} {totals['files']} file(s): {totals['accepted']} accepted, {totals['adapted']} adapted, "
            f"{totals['refused']} refused; shapes: {totals['shapes_accepted'] + totals['shapes_adapted']} "
            f"imported, {totals['shapes_refused']} refused"
            + (f"; classes created: {', '.join(report.created_classes)}" if report.created_classes else "")
        )
        if totals["files"] == 0:
            raise CommandError(f"No {opts['format']} annotation file found in {source}.")
        if totals["refused"] == totals["files"]:
            raise CommandError("Every file was refused; nothing was imported.")
        if totals["refused"]:
            sys.exit(PARTIAL)
