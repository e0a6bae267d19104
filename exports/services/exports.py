"""Use cases of exports: request one (a job), run it (the actor), hand out its download."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit.services import record_event
from exports.formats import FORMATS, get_exporter
from exports.formats.base import ExportContext
from exports.models import Export
from exports.scope import describe_scope, normalize_scope, split_names
from exports.selectors import count_frames, export_labels, frames_in_scope, iter_export_frames
from exports.writers import ArchiveWriter, ZipArchiveWriter, store_archive, temporary_archive
from jobs.models import Job, JobStatus
from jobs.services import create_job, fail_job, finish_job, is_cancel_requested, report_progress, start_job
from media.storage import is_storage_error, list_files
from projects.models import Project

DOWNLOAD_SALT = "exports.download"

logger = logging.getLogger(__name__)


class ExportCancelled(Exception):
    pass


# The project (and with it the export's row) was deleted before the export was stored.
PROJECT_DELETED = "The project was deleted before this export finished; nothing was kept."


def _fail_job_of_deleted_export(export_id: int) -> None:
    """The export row went with its project before the job ran: end the job, which stays."""
    job = Job.objects.filter(kind="export", params__export_id=export_id).first()
    if job is not None and not job.is_finished:
        fail_job(job, PROJECT_DELETED)


def check_scope_objects(project: Project, scope: dict) -> None:
    """Ids named in the scope must be this project's (a foreign id is "not found")."""
    from media.models import Frame
    from tasks.models import Batch, Task

    errors: dict[str, list[str]] = {}
    org = project.organization_id
    if (
        scope.get("batch_id")
        and not Batch.objects.for_organization(org).filter(pk=scope["batch_id"], project=project).exists()
    ):
        errors["scope.batch_id"] = [f"No batch with id {scope['batch_id']} in this project."]
    task_ids = set(scope.get("task_ids") or [])
    if scope.get("task_id"):
        task_ids.add(scope["task_id"])
    if task_ids:
        found = set(
            Task.objects.for_organization(org).filter(pk__in=task_ids, project=project).values_list("pk", flat=True)
        )
        missing = sorted(task_ids - found)
        if missing:
            key = "scope.task_id" if scope.get("task_id") in missing else "scope.task_ids"
            errors[key] = [f"No task with id {', '.join(map(str, missing[:5]))} in this project."]
    if scope.get("task_id") and scope.get("frame") and "scope.task_id" not in errors:
        count = Frame.objects.filter(task_id=scope["task_id"]).count()
        if scope["frame"] > count:
            errors["scope.frame"] = [f"Task {scope['task_id']} has {count} frame(s); frames are counted from 1."]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def request_export(
    *,
    actor,
    project: Project,
    format: str,
    scope: dict | None = None,
    options: dict | None = None,
    include_images: bool = True,
    queue: bool = True,
) -> Export:
    """Validate the request, record the export and queue its job (sent after commit).

    ``queue=False``: the caller runs it (``manage.py export`` calls :func:`run_export`)."""
    if format not in FORMATS:
        raise ValidationError({"format": [f"Unknown format {format!r}; one of {', '.join(FORMATS)}."]})
    clean_scope = normalize_scope(scope)
    check_scope_objects(project, clean_scope)
    clean_options = get_exporter(format).clean_options(options or {})
    export = Export(
        project=project,
        format=format,
        scope=clean_scope,
        options={**clean_options, "include_images": bool(include_images)},
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    export.inherit_organization(project)
    export.save()
    export.job = create_job(
        organization=project.organization_id,
        kind="export",
        created_by=actor,
        project=project,
        params={"export_id": export.pk, "format": format, "scope": describe_scope(clean_scope)},
    )
    export.save(update_fields=["job"])
    record_event(
        actor=actor,
        organization=project.organization_id,
        action="export.requested",
        target=export,
        after={"format": format, "scope": clean_scope, "options": export.options},
    )
    if queue:
        from exports.actors import run_export_job

        export_id = export.pk
        transaction.on_commit(lambda: run_export_job.send(export_id))
    return export


def write_export(
    *,
    project: Project,
    format: str,
    scope: dict,
    options: dict,
    writer: ArchiveWriter,
    on_frame: Callable[[int], None] | None = None,
) -> ExportContext:
    """Stream the export into ``writer``: the one code path of jobs and ``manage.py export``.

    ``on_frame(done)`` is called after each frame (progress, cancellation).
    """
    options = dict(options)
    include_images = options.pop("include_images", True)
    exporter = get_exporter(format)(options)
    ctx = ExportContext(
        project_name=project.name,
        project_kind=project.kind,
        labels=export_labels(project),
        options=exporter.options,
        include_images=include_images,
        splits=split_names(scope.get("split")),
        task_count=frames_in_scope(project, scope).values("task_id").distinct().count(),
    )
    done = 0

    def frame_written(frame) -> None:
        nonlocal done
        done += 1
        if on_frame is not None:
            on_frame(done)

    ctx.on_frame = frame_written
    exporter.export(iter_export_frames(project, scope, ctx), writer, ctx)
    ctx.archive_name = ctx.archive_name or exporter.default_archive_name(ctx)
    ctx.frames_written = done
    return ctx


def _empty_folder(folder: str) -> None:
    """Delete every file under ``folder`` of the default storage (none: nothing to do). A
    storage outage is raised, not swallowed: the export is retried."""
    for path in list(list_files(folder)):
        default_storage.delete(path)


def run_export(
    export_id: int, *, on_progress: Callable[[int, int], None] | None = None, storage_retries: int = 0
) -> Export | None:
    """Run an export's job: stream the archive to a temporary file, then to storage.

    Idempotent: a finished job is not run again; a retried one starts from scratch.
    ``storage_retries``: how many later attempts a storage failure leaves to the caller (the
    actor's retries): until they are spent the job stays running and the error is raised
    for the retry; then, or for any other error, the job fails.
    """
    export = Export.objects.select_related("project", "job").filter(pk=export_id).first()
    if export is None:
        _fail_job_of_deleted_export(export_id)
        return None
    job = start_job(export.job_id) if export.job_id else None
    if job is None:
        return None
    project = export.project
    total = count_frames(project, export.scope)
    report_progress(job, done=0, total=total, message=f"Exporting {total} frame(s) as {export.format}")
    last_report = time.monotonic()

    def on_frame(done: int) -> None:
        nonlocal last_report
        if on_progress is not None:
            on_progress(done, total)
        now = time.monotonic()
        if now - last_report >= 1.0 or done == total:
            last_report = now
            if is_cancel_requested(job):
                raise ExportCancelled()
            report_progress(job, done=done)

    try:
        with temporary_archive() as temp:
            writer = ZipArchiveWriter(temp)
            with writer:
                ctx = write_export(
                    project=project,
                    format=export.format,
                    scope=export.scope,
                    options=export.options,
                    writer=writer,
                    on_frame=on_frame,
                )
            temp.flush()
            folder = f"{project.storage_prefix}/exports/{export.pk}"
            # A retry replaces whatever an earlier attempt stored, recorded or not (a worker
            # killed between storing the archive and saving the row leaves an unrecorded one).
            _empty_folder(folder)
            stored, size = store_archive(temp.name, f"{folder}/{ctx.archive_name}")
    except ExportCancelled:
        finish_job(job, status=JobStatus.CANCELLED, message="Export cancelled.")
        return export
    except Exception as exc:
        if is_storage_error(exc):  # a retry that finds the export deleted says so (above)
            problem = f"storage unavailable ({type(exc).__name__}: {exc})"
            attempts = f"{job.attempts} attempt{'s' if job.attempts != 1 else ''}"
            if job.attempts <= storage_retries:
                logger.warning("export %s: %s; retrying after attempt %s", export.pk, problem, job.attempts)
                report_progress(job, message=f"Retrying: {problem}", error=f"Attempt {job.attempts}: {problem}")
            else:
                fail_job(job, f"Export failed after {attempts}: {problem}. Export again once storage is back.")
            raise
        if not Export.objects.filter(pk=export.pk).exists():  # its files went with the project
            _empty_folder(f"{project.storage_prefix}/exports/{export.pk}")
            fail_job(job, PROJECT_DELETED)
            return None
        fail_job(job, f"Export failed: {exc}")
        raise
    export.file_path = stored
    export.file_name = ctx.archive_name
    export.size_bytes = size
    export.file_count = writer.file_count
    export.frame_count = ctx.frames_written
    export.annotation_count = ctx.annotation_count
    export.finished_at = timezone.now()
    with transaction.atomic():
        # The row lock holds a deletion of the project back until the row is saved (its purge
        # then removes the archive with the rest); a deletion that came first leaves the
        # archive to no one, so it goes now.
        if not Export.objects.select_for_update().filter(pk=export.pk).exists():
            default_storage.delete(stored)
            fail_job(job, PROJECT_DELETED)
            return None
        export.save(
            update_fields=[
                "file_path",
                "file_name",
                "size_bytes",
                "file_count",
                "frame_count",
                "annotation_count",
                "finished_at",
            ]
        )
    skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(ctx.skipped.items()))
    finish_job(
        job,
        result={
            "export_id": export.pk,
            "file_name": ctx.archive_name,
            "size_bytes": size,
            "files": writer.file_count,
            "frames": ctx.frames_written,
            "annotations": ctx.annotation_count,
            "skipped": ctx.skipped,
        },
        message=f"Exported {ctx.frames_written} frame(s), {ctx.annotation_count} shape(s)"
        + (f"; skipped: {skipped}" if skipped else ""),
    )
    return export


# --- downloads -----------------------------------------------------------------------------
def signed_download_token(export: Export, user) -> str:
    return signing.dumps({"export": export.pk, "org": export.organization_id, "user": user.pk}, salt=DOWNLOAD_SALT)


def export_from_token(token: str) -> Export | None:
    """The export a signed download link names, or None (bad, foreign or expired link)."""
    try:
        data = signing.loads(token, salt=DOWNLOAD_SALT, max_age=settings.DOWNLOAD_URL_EXPIRY_SECONDS)
    except signing.BadSignature:
        return None
    return Export.objects.for_organization(data.get("org")).filter(pk=data.get("export")).first()


def download_url(export: Export, request) -> str:
    """A short-lived link to the archive: presigned on S3, our signed link on local storage."""
    if is_s3_storage():
        return default_storage.url(
            export.file_path,
            parameters={"ResponseContentDisposition": f'attachment; filename="{_ascii_name(export.file_name)}"'},
        )
    path = reverse("export-signed-download") + "?token=" + signed_download_token(export, request.user)
    return request.build_absolute_uri(path)


def is_s3_storage() -> bool:
    return default_storage.__class__.__name__ == "S3Storage"


def _ascii_name(name: str) -> str:
    return name.encode("ascii", "ignore").decode("ascii").replace('"', "") or "export.zip"


def open_archive(export: Export):
    return default_storage.open(export.file_path, "rb")
