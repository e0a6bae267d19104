"""Export a project's annotations in one format, with a progress bar.

Examples::

    python manage.py export --project 7 --format coco --out /tmp/coco.zip
    python manage.py export --project 7 --format segmentation_results --scope frames:10-20 \\
        --option outputs=gt_label,class_map --option folder_names=original --out ./results/
    python manage.py export --project 7 --format yolo --scope status:completed,reviewed \\
        --split ratio:0.8,0.1,0.1:42
    python manage.py export --project 7 --format coco --scope frame:TASK_ID:12   # the current frame

Without ``--out`` the archive is stored like an API export (listed under the project,
downloadable). ``--out`` ending in ``.zip`` writes that zip; any other path is a folder.

Exit status: 0 written; 1 failed (unknown project or format, invalid scope or option, the
export itself failed); 2 bad command line.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from exports.formats import FORMATS
from exports.scope import normalize_scope
from exports.writers import DirectoryWriter, ZipArchiveWriter


def parse_scope(items: list[str]) -> dict:
    """``batch:ID``, ``status:a,b``, ``tasks:1,2``, ``frames:A-B``, ``frame:TASK:N``, ``sources:a,b``."""
    scope: dict = {}
    for item in items:
        kind, _, value = item.partition(":")
        try:
            if kind == "project":
                continue
            if kind == "batch":
                scope["batch_id"] = int(value)
            elif kind == "status":
                scope["statuses"] = [v for v in value.split(",") if v]
            elif kind == "tasks":
                scope["task_ids"] = [int(v) for v in value.split(",") if v]
            elif kind == "frames":
                start, _, end = value.partition("-")
                scope["frame_start"], scope["frame_end"] = int(start), int(end or start)
            elif kind == "frame":
                task, _, number = value.partition(":")
                scope["task_id"], scope["frame"] = int(task), int(number)
            elif kind == "sources":
                scope["sources"] = [v for v in value.split(",") if v]
            else:
                raise CommandError(
                    f"Unknown scope {item!r}: use project, batch:ID, status:A,B, tasks:1,2, frames:A-B, frame:TASK:N"
                )
        except ValueError:
            raise CommandError(f"Cannot read scope {item!r}: numbers expected") from None
    return scope


def parse_split(value: str | None) -> dict | None:
    """``ratio:TRAIN,VAL,TEST[:SEED]`` or ``tag[:untagged]``."""
    if not value:
        return None
    kind, _, rest = value.partition(":")
    if kind == "tag":
        return {"mode": "tag", "untagged": rest or "train"}
    if kind == "ratio":
        ratios, _, seed = rest.partition(":")
        try:
            train, val, test = (float(v) for v in ratios.split(","))
            return {"mode": "ratio", "train": train, "val": val, "test": test, "seed": int(seed or 0)}
        except ValueError:
            raise CommandError("--split ratio:TRAIN,VAL,TEST[:SEED], e.g. ratio:0.8,0.1,0.1:42") from None
    raise CommandError("--split is ratio:TRAIN,VAL,TEST[:SEED] or tag[:UNTAGGED]")


def parse_options(items: list[str]) -> dict:
    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise CommandError(f"--option {item!r}: use key=value")
        options[key] = value
    return options


class Command(BaseCommand):
    help = "Export a project's annotations (COCO, YOLO, VOC, labelme, GeoJSON, MOT, segmentation results, images)."

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True, help="Project id.")
        parser.add_argument("--format", required=True, choices=list(FORMATS), help="Export format.")
        parser.add_argument(
            "--scope",
            action="append",
            default=[],
            metavar="SCOPE",
            help="project | batch:ID | status:A,B | tasks:1,2 | frames:START-END (1-based) | frame:TASK:N | "
            "sources:manual,imported (repeat to combine)",
        )
        parser.add_argument("--split", help="ratio:TRAIN,VAL,TEST[:SEED] or tag[:train|val|test|skip]")
        parser.add_argument("--annotated-only", action="store_true", help="Leave out frames without shapes.")
        parser.add_argument("--no-images", action="store_true", help="Write annotations only, no image files.")
        parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="A format option.")
        parser.add_argument("--out", help="A .zip file or a folder; without it the export is stored and listed.")
        parser.add_argument("--user", help="Username recorded as the export's author.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (logs, scripts).")

    def handle(self, *args, **opts):
        from projects.models import Project

        project = Project.objects.filter(pk=opts["project"]).first()
        if project is None:
            raise CommandError(f"No project with id {opts['project']}.")
        actor = None
        if opts["user"]:
            actor = get_user_model().objects.filter(username=opts["user"]).first()
            if actor is None:
                raise CommandError(f"No user called {opts['user']!r}.")
        scope = parse_scope(opts["scope"])
        split = parse_split(opts["split"])
        if split:
            scope["split"] = split
        if opts["annotated_only"]:
            scope["annotated_only"] = True
        options = parse_options(opts["option"])
        try:
            if opts["out"]:
                self._to_path(project, opts, scope, options)
            else:
                self._to_storage(project, opts, scope, options, actor)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None

    def _bar(self, opts):
        from tqdm import tqdm

        return tqdm(total=0, unit="frame", disable=opts["no_progress"], file=sys.stderr, desc=opts["format"])

    def _to_path(self, project, opts, scope, options) -> None:
        from exports.formats import get_exporter
        from exports.selectors import count_frames
        from exports.services.exports import check_scope_objects, write_export

        clean = normalize_scope(scope)
        check_scope_objects(project, clean)
        clean_options = {**get_exporter(opts["format"]).clean_options(options), "include_images": not opts["no_images"]}
        out = Path(opts["out"])
        if out.suffix.lower() == ".zip":
            out.parent.mkdir(parents=True, exist_ok=True)
            writer = ZipArchiveWriter(out)
        else:
            writer = DirectoryWriter(out)
        bar = self._bar(opts)
        bar.total = count_frames(project, clean)
        with bar, writer:
            ctx = write_export(
                project=project,
                format=opts["format"],
                scope=clean,
                options=clean_options,
                writer=writer,
                on_frame=lambda done: bar.update(1),
            )
        self._summary(ctx.frames_written, ctx.annotation_count, ctx.skipped, writer.file_count, str(out))

    def _to_storage(self, project, opts, scope, options, actor) -> None:
        from exports.services.exports import request_export, run_export

        export = request_export(
            actor=actor,
            project=project,
            format=opts["format"],
            scope=scope,
            options=options,
            include_images=not opts["no_images"],
            queue=False,
        )
        bar = self._bar(opts)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        with bar:
            try:
                export = run_export(export.pk, on_progress=progress)
            except Exception as exc:
                raise CommandError(f"Export {export.pk} failed: {exc}") from None
        export.refresh_from_db()
        if export.status != "succeeded":
            raise CommandError(f"Export {export.pk} ended {export.status}: {export.job.message if export.job else ''}")
        self._summary(
            export.frame_count,
            export.annotation_count,
            export.job.result.get("skipped", {}),
            export.file_count,
            f"storage:{export.file_path} (export {export.pk})",
        )

    def _summary(self, frames: int, shapes: int, skipped: dict, files: int, where: str) -> None:
        self.stdout.write(f"Exported {frames} frame(s), {shapes} shape(s), {files} file(s) → {where}")
        for reason, count in sorted(skipped.items()):
            self.stdout.write(f"  skipped {count}: {reason}")
