"""Use cases of imports: request one (upload + job), run it, and the core both the job and
``manage.py import`` use (:func:`import_folder`).

Every file is checked before anything of it is written: matched to a task frame by name,
every shape's numbers checked (finite, within sane bounds) before any raster library sees
them, classes mapped. A file with a refused shape is refused whole (``on_invalid_shape:
refuse_file``, the default) or written without that shape (``skip_shape``); a refused file
writes nothing. Accepted files are written through ``write_annotations`` with source
``imported``, one revision per file, ``produced_by`` the import's job.
"""

from __future__ import annotations

import colorsys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from annotations.models import Source
from audit.services import record_event
from exports.archives import ArchiveRefused, unpack_upload
from exports.formats.base import safe_name
from exports.importers import IMPORTERS, get_importer
from exports.importers.base import ParsedFile, ParsedShape, check_shape, scale_geometry
from exports.importers.gt_masks import mask_shapes
from exports.importers.matching import FrameMatcher, Target
from exports.models import ANNOTATION_IMPORT_JOB_KIND, Import
from jobs.services import create_job, fail_job, finish_job, report_progress, start_job
from projects.models import LabelClass, Project

COMMON_OPTIONS = {"unknown_classes", "class_map", "on_invalid_shape", "dry_run"}
REPORT_FILE_LIMIT = 10_000  # per-file details kept in the report (totals always complete)


def clean_import_options(format: str, options: dict | None) -> dict:
    """Common options (unknown_classes, class_map, on_invalid_shape, dry_run) + the format's."""
    if format not in IMPORTERS:
        raise ValidationError({"format": [f"Unknown import format {format!r}; one of {', '.join(IMPORTERS)}."]})
    options = dict(options or {})
    errors: dict[str, list[str]] = {}
    common = {
        "unknown_classes": options.pop("unknown_classes", "refuse"),
        "class_map": options.pop("class_map", {}),
        "on_invalid_shape": options.pop("on_invalid_shape", "refuse_file"),
        "dry_run": options.pop("dry_run", False),
    }
    if common["unknown_classes"] not in ("refuse", "create"):
        errors["options.unknown_classes"] = ["Use refuse (report them) or create (add the classes)."]
    class_map = common["class_map"]
    if not isinstance(class_map, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in class_map.items()
    ):
        errors["options.class_map"] = ['Give {"name in the file": "project class name", ...}.']
    if common["on_invalid_shape"] not in ("refuse_file", "skip_shape"):
        errors["options.on_invalid_shape"] = ["Use refuse_file or skip_shape."]
    if not isinstance(common["dry_run"], bool):
        errors["options.dry_run"] = ["Use true or false."]
    try:
        specific = get_importer(format).clean_options(options)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        specific = {}
    if errors:
        raise ValidationError(errors)
    return {**common, **specific}


@transaction.atomic
def request_import(*, actor, project: Project, format: str, upload, options: dict | None = None) -> Import:
    """Store the uploaded file under the project's prefix and queue the import job."""
    clean = clean_import_options(format, options)
    size = getattr(upload, "size", 0) or 0
    if size > settings.MAX_UPLOAD_BYTES:
        cap = settings.MAX_UPLOAD_BYTES / 1024**3
        raise ValidationError({"file": [f"The file is {size / 1024**3:.1f} GB; uploads are capped at {cap:.1f} GB."]})
    name = safe_name(Path(getattr(upload, "name", "") or "upload").name, "upload")
    path = default_storage.save(f"{project.storage_prefix}/imports/{uuid.uuid4().hex}/{name}", upload)
    record = Import(
        project=project,
        format=format,
        options=clean,
        upload_path=path,
        upload_name=name,
        size_bytes=getattr(upload, "size", 0) or 0,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    record.inherit_organization(project)
    record.save()
    record.job = create_job(
        organization=project.organization_id,
        kind=ANNOTATION_IMPORT_JOB_KIND,
        created_by=actor,
        project=project,
        params={"import_id": record.pk, "format": format, "file": name},
    )
    record.save(update_fields=["job"])
    record_event(
        actor=actor,
        organization=project.organization_id,
        action="import.requested",
        target=record,
        after={"format": format, "file": name},
    )
    from exports.actors import run_import_job

    record_id = record.pk
    transaction.on_commit(lambda: run_import_job.send(record_id))
    return record


@dataclass
class ImportReport:
    files: list[dict] = field(default_factory=list)
    totals: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("files", "accepted", "adapted", "refused", "shapes_accepted", "shapes_adapted", "shapes_refused"), 0
        )
    )
    created_classes: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)  # files written (a retried job skips them)

    def add(self, entry: dict) -> None:
        self.totals["files"] += 1
        self.totals[entry["status"]] += 1
        for shape in entry.get("shapes", []):
            self.totals[f"shapes_{shape['status']}"] += 1
        if len(self.files) < REPORT_FILE_LIMIT:
            self.files.append(entry)

    def as_dict(self) -> dict:
        return {
            "files": self.files,
            "totals": self.totals,
            "created_classes": self.created_classes,
            "written": self.written,
        }


class ClassMapper:
    """File class names (or maskids) → the project's labels; creates them when asked."""

    def __init__(self, project: Project, options: dict, actor, report: ImportReport):
        self.project = project
        self.options = options
        self.actor = actor
        self.report = report
        self._reload()

    def _reload(self) -> None:
        labels = list(LabelClass.objects.filter(project=self.project))
        self.by_name = {label.name.lower(): label for label in labels}
        self.by_alias = {alias.lower(): label for label in labels for alias in label.aliases or []}
        self.by_maskid = {label.maskid: label for label in labels}

    def label_for(self, shape: ParsedShape) -> LabelClass | str:
        if shape.maskid is not None:
            label = self.by_maskid.get(shape.maskid)
            if label is None:
                return self._create(f"maskid {shape.maskid}", shape.maskid)
            return label
        name = (shape.class_name or "").strip()
        name = self.options["class_map"].get(name, name)
        label = self.by_name.get(name.lower()) or self.by_alias.get(name.lower())
        return label if label is not None else self._create(name, None)

    def _create(self, name: str, maskid: int | None) -> LabelClass | str:
        if self.options["unknown_classes"] != "create" or not name:
            what = f"maskid {maskid}" if maskid is not None else f"class {name!r}"
            return (
                f"{what} is not a class of this project (map it with class_map, or import with unknown_classes=create)"
            )
        if self.options["dry_run"]:
            return LabelClass(name=name, maskid=maskid or 0)
        from projects.services.labels import create_label

        used = set(self.by_maskid)
        maskid = maskid if maskid is not None else next((m for m in range(1, 256) if m not in used), None)
        if maskid is None:
            return f"class {name!r} cannot be created: every maskid 1-255 is taken"
        hue = (len(used) * 0.618033988749895) % 1.0
        r, g, b = (int(c * 255) for c in colorsys.hsv_to_rgb(hue, 0.75, 0.95))
        try:
            label = create_label(
                actor=self.actor,
                project=self.project,
                data={"name": name[:100], "color": f"#{r:02x}{g:02x}{b:02x}", "maskid": maskid},
            )
        except ValidationError as exc:
            return f"class {name!r} cannot be created: {'; '.join(exc.messages)}"
        self.report.created_classes.append(name)
        self._reload()
        return label


def _finish_shape(shape: ParsedShape, label: LabelClass) -> None:
    """Adapt the shape to its class: keypoints by name, attributes the class defines."""
    names = list((label.keypoints or {}).get("names") or [])
    g = shape.geometry
    point_names = g.pop("_names", None)
    if shape.type == "points" and names and point_names and all(point_names) and set(point_names) <= set(names):
        by_name = dict(zip(point_names, g["points"], strict=False))
        shape.type = "keypoints"
        g["points"] = [
            {"name": n, "x": by_name[n][0], "y": by_name[n][1], "visibility": 2}
            if n in by_name
            else {"name": n, "x": 0, "y": 0, "visibility": 0}
            for n in names
        ]
    if shape.type == "keypoints":
        points = g["points"]
        if names and not all(p.get("name") in names for p in points) and len(points) == len(names):
            for point, name in zip(points, names, strict=True):
                point["name"] = name
            shape.notes.append("keypoints matched to the class's keypoints by position")
        by_name = {p.get("name"): p for p in points}
        g["points"] = [by_name.get(n, {"name": n, "x": 0, "y": 0, "visibility": 0}) for n in names] if names else points
    allowed = {a.get("name") for a in label.attributes or [] if isinstance(a, dict)}
    dropped = sorted(k for k in shape.attributes if k not in allowed)
    if dropped:
        shape.attributes = {k: v for k, v in shape.attributes.items() if k in allowed}
        shape.notes.append(f"attributes the class does not define were dropped: {', '.join(dropped)}")


def _shape_entry(shape: ParsedShape) -> dict:
    status = "refused" if shape.problems else ("adapted" if shape.notes else "accepted")
    entry = {
        "where": shape.where,
        "class": shape.class_name or (f"maskid {shape.maskid}" if shape.maskid is not None else ""),
        "status": status,
    }
    if shape.problems:
        entry["reason"] = "; ".join(shape.problems)
    if shape.notes:
        entry["notes"] = shape.notes
    return entry


def _prepare(parsed: ParsedFile, target: Target, mapper: ClassMapper) -> list[tuple[ParsedShape, Any]]:
    """Scale, check and classify every shape of a matched file (nothing written)."""
    if parsed.mask is not None:
        parsed.shapes, notes = mask_shapes(parsed.mask, target.width, target.height)
        parsed.notes.extend(notes)
        parsed.mask = None
    elif parsed.normalized:
        for shape in parsed.shapes:
            if not shape.problems:
                scale_geometry(shape, target.width, target.height)
    elif parsed.width and parsed.height and (parsed.width, parsed.height) != (target.width, target.height):
        parsed.notes.append(
            f"the file is for a {parsed.width}x{parsed.height} image, the frame is "
            f"{target.width}x{target.height}: coordinates scaled"
        )
        for shape in parsed.shapes:
            if not shape.problems and "rle" not in shape.geometry:
                scale_geometry(shape, target.width / parsed.width, target.height / parsed.height)
    out = []
    for shape in parsed.shapes:
        if not shape.problems:
            check_shape(shape, target.width, target.height)
        label = None
        if not shape.problems:
            label = mapper.label_for(shape)
            if isinstance(label, str):
                shape.problems.append(label)
                label = None
            else:
                _finish_shape(shape, label)
        out.append((shape, label))
    return out


def _payload(shape: ParsedShape, label, frame_index: int) -> dict:
    return {
        "type": shape.type,
        "class_name": label.name,
        "geometry": shape.geometry,
        "attributes": shape.attributes,
        "frame_index": frame_index,
        "object_id": shape.object_id,
    }


def write_frame_shapes(task_id: int, shapes: list[dict], *, actor, job) -> None:
    """The one place imports write annotations (the annotations app's service)."""
    from annotations.services.saving import write_annotations

    write_annotations(task_id, shapes, source=Source.IMPORTED, actor=actor, produced_by=job, action="import")


def import_file(parsed: ParsedFile, matcher: FrameMatcher, mapper: ClassMapper, options: dict, *, actor, job) -> dict:
    """Check one parsed file and write it (unless refused or a dry run); its report entry."""
    from annotations.shapes import ShapesInvalid

    entry: dict[str, Any] = {"file": parsed.name, "image": parsed.image_name}
    if parsed.refused:
        return {**entry, "status": "refused", "reason": parsed.refused, "shapes": []}
    target = matcher.match(parsed.image_name)
    if isinstance(target, str):
        return {**entry, "status": "refused", "reason": target, "shapes": []}
    entry.update(task_id=target.task_id, frame=target.frame_index + 1)
    prepared = _prepare(parsed, target, mapper)
    refused = [s for s, _ in prepared if s.problems]
    keep = [(s, label) for s, label in prepared if not s.problems]
    if refused and options["on_invalid_shape"] == "refuse_file":
        entry.update(
            status="refused", reason=f"{len(refused)} shape(s) refused (on_invalid_shape=refuse_file): nothing written"
        )
    elif not keep:
        entry.update(status="refused", reason="no shape to import" if not prepared else "every shape was refused")
    else:
        entry["status"] = "adapted" if parsed.notes or refused or any(s.notes for s, _ in keep) else "accepted"
        if not options["dry_run"] and _written_before(job, target):
            parsed.notes.append("already written by an earlier attempt of this import")
        elif not options["dry_run"]:
            try:
                write_frame_shapes(
                    target.task_id, [_payload(s, label, target.frame_index) for s, label in keep], actor=actor, job=job
                )
            except ShapesInvalid as exc:
                for key, messages in exc.errors.items():
                    parts = key.split(".")
                    if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(keep):
                        keep[int(parts[1])][0].problems.extend(messages)
                entry.update(status="refused", reason="the annotation checks refused shape(s): nothing written")
    if parsed.notes:
        entry["notes"] = parsed.notes
    entry["shapes"] = [_shape_entry(s) for s, _ in prepared]
    return entry


def _written_before(job, target: Target) -> bool:
    """A retried job (worker lost mid-run) finds the frames its earlier attempt wrote."""
    if job is None or job.attempts <= 1:
        return False
    from annotations.models import Annotation

    return Annotation.objects.filter(produced_by=job, task_id=target.task_id, frame_index=target.frame_index).exists()


def import_folder(
    *,
    project: Project,
    format: str,
    root: Path,
    options: dict,
    actor=None,
    job=None,
    report: ImportReport | None = None,
    on_file: Callable[[dict], None] | None = None,
    source_name: str = "",
) -> ImportReport:
    """Import every annotation file under ``root``: the core of jobs and ``manage.py import``."""
    report = report or ImportReport()
    specific = {k: v for k, v in options.items() if k not in COMMON_OPTIONS}
    importer = get_importer(format)(specific)
    matcher = FrameMatcher(project)
    mapper = ClassMapper(project, options, actor, report)
    already = set(report.written)
    found = False
    for parsed in importer.parse(root):
        found = True
        if parsed.name in already and not parsed.refused:
            continue
        entry = import_file(parsed, matcher, mapper, options, actor=actor, job=job)
        report.add(entry)
        if entry["status"] != "refused" and not options["dry_run"]:
            report.written.append(parsed.name)
        if on_file is not None:
            on_file(entry)
    if not found:  # an upload with nothing this format reads must not look like a success
        report.add(
            {
                "file": source_name or root.name,
                "image": "",
                "status": "refused",
                "reason": f"no {importer.title} annotation file found in it (expected: {importer.description})",
                "shapes": [],
            }
        )
    return report


def run_import(import_id: int) -> Import | None:
    """Run an import's job. Idempotent: files already written by an earlier attempt of the
    same job are skipped (the report records them as they are written)."""
    record = Import.objects.select_related("project", "job", "created_by").get(pk=import_id)
    job = start_job(record.job_id) if record.job_id else None
    if job is None:
        return None
    previous = record.report or {}
    report = ImportReport(written=list(previous.get("written", [])))
    last = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="import-") as folder:
            local = Path(folder) / "upload"
            with default_storage.open(record.upload_path, "rb") as source, open(local, "wb") as target:
                while chunk := source.read(1 << 20):
                    target.write(chunk)
            try:
                root = unpack_upload(local, record.upload_name, Path(folder) / "files")
            except ArchiveRefused as exc:
                report.add({"file": record.upload_name, "status": "refused", "reason": str(exc), "shapes": []})
                return _finish_import(record, job, report)
            total = sum(1 for p in root.rglob("*") if p.is_file())
            report_progress(job, done=0, total=total, message=f"Importing {record.upload_name} ({record.format})")

            def on_file(entry: dict) -> None:
                nonlocal last
                if time.monotonic() - last >= 1.0:
                    last = time.monotonic()
                    record.report = report.as_dict()
                    record.save(update_fields=["report"])
                    report_progress(job, done=min(report.totals["files"], total))

            import_folder(
                project=record.project,
                format=record.format,
                root=root,
                options=record.options,
                actor=record.created_by,
                job=job,
                report=report,
                on_file=on_file,
                source_name=record.upload_name,
            )
    except Exception as exc:
        record.report = report.as_dict()
        record.save(update_fields=["report"])
        fail_job(job, f"Import failed: {exc}")
        raise
    return _finish_import(record, job, report)


def _finish_import(record: Import, job, report: ImportReport) -> Import:
    record.report = report.as_dict()
    record.finished_at = timezone.now()
    record.save(update_fields=["report", "finished_at"])
    t = report.totals
    message = (
        f"{t['files']} file(s): {t['accepted']} accepted, {t['adapted']} adapted, {t['refused']} refused; "
        f"{t['shapes_accepted'] + t['shapes_adapted']} shape(s) imported, {t['shapes_refused']} refused"
    )
    finish_job(
        job, result={"import_id": record.pk, "totals": t, "created_classes": report.created_classes}, message=message
    )
    return record
