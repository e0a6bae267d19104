"""Starting an import: files arrive (multipart upload, archive, registration from the
organization's storage area, finished resumable uploads), are recorded one ``ImportFile``
per file, and a worker takes it from there (``media.services.ingest.run_import``).

Checks that need no decoding happen here, at once (size, empty file, unsafe name); all
others in the worker. Either way each file ends accepted, refused with a reason, or
duplicate, and the import (a ``jobs.Job`` of kind ``import``) counts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from annotator.api.errors import Conflict
from audit.services import record_event
from jobs.models import Job, JobStatus
from jobs.services import create_job, requeue_job
from media.models import IMPORT_JOB_KIND, ImportFile, ImportOutcome, Upload, UploadStatus
from media.storage import inbox_prefix, list_files, put_file, safe_relative_path
from projects.models import Project


@dataclass
class IncomingFile:
    """A file offered to an import: bytes to store, or a file already in storage."""

    name: str
    size: int = 0
    content: IO[bytes] | bytes | None = None
    stored_path: str = ""
    owned: bool = True
    upload: Upload | None = None


class Source:
    UPLOAD = "upload"
    REGISTER = "register"
    RESUMABLE = "resumable"
    DEMO = "demo"


def _unique(name: str, used: set[str]) -> str:
    if name not in used:
        used.add(name)
        return name
    path = PurePosixPath(name)
    n = 2
    while True:
        candidate = str(path.with_name(f"{path.stem} ({n}){path.suffix}"))
        if candidate not in used:
            used.add(candidate)
            return candidate
        n += 1


def _check_batch(project: Project, batch) -> None:
    if batch is not None and batch.project_id != project.pk:
        raise ValidationError({"batch_id": [f"Batch {batch.pk} is not in project {project.pk}."]})


@transaction.atomic
def start_import(
    *,
    actor,
    project: Project,
    files: Sequence[IncomingFile],
    source: str,
    batch=None,
    task_name: str = "",
    extra_params: dict | None = None,
) -> Job:
    """Record the files of a new import, store the bytes given, and queue the worker."""
    if not files:
        raise ValidationError({"files": ["Send at least one file."]})
    if len(files) > settings.MEDIA_MAX_FILES_PER_IMPORT:
        raise ValidationError(
            {"files": [f"{len(files)} files in one import; the limit is {settings.MEDIA_MAX_FILES_PER_IMPORT}."]}
        )
    _check_batch(project, batch)
    job = create_job(
        organization=project.organization_id,
        kind=IMPORT_JOB_KIND,
        created_by=actor,
        project=project,
        params={
            "source": source,
            "batch_id": batch.pk if batch else None,
            "task_name": task_name,
            "files": len(files),
            **(extra_params or {}),
        },
        total=len(files),
    )
    used: set[str] = set()
    rows = []
    now = timezone.now()
    for position, incoming in enumerate(files):
        row = ImportFile(
            organization_id=project.organization_id,
            job=job,
            project=project,
            position=position,
            name=(incoming.name or f"file-{position}")[:1000],
            size_bytes=incoming.size,
            owned=incoming.owned,
            upload=incoming.upload,
        )
        safe = safe_relative_path(incoming.name)
        if safe is None:
            row.outcome, row.code = ImportOutcome.REFUSED, "unsafe_name"
            row.reason = "unsafe, empty or too long file name (absolute, '..', over 400 characters)"
        elif incoming.stored_path:
            row.stored_path = incoming.stored_path
        elif incoming.size > settings.MAX_UPLOAD_BYTES:
            row.outcome, row.code = ImportOutcome.REFUSED, "too_large"
            row.reason = f"{incoming.size:,} bytes; the limit is {settings.MAX_UPLOAD_BYTES:,}"
        elif incoming.size == 0 and incoming.content is not None:
            row.outcome, row.code, row.reason = ImportOutcome.REFUSED, "empty", "the file is empty"
        else:
            path = f"{project.storage_prefix}/originals/{job.pk}/{_unique(safe, used)}"
            row.stored_path = put_file(path, incoming.content)
        if row.outcome != ImportOutcome.PENDING:
            row.decided_at = now
        rows.append(row)
    ImportFile.objects.bulk_create(rows)
    refused = [f"{r.name}: {r.reason}" for r in rows if r.outcome == ImportOutcome.REFUSED]
    if refused:
        Job.objects.filter(pk=job.pk).update(errors=refused[:1000])
    record_event(
        actor=actor,
        organization=project.organization_id,
        action="media.import_started",
        target=job,
        after={"project": project.pk, "source": source, "files": len(files)},
    )
    from media.actors import run_import

    transaction.on_commit(lambda: run_import.send(job.pk))
    return job


def resume_import(*, actor, job: Job) -> Job:
    """Run a failed import again for its files still pending (a storage outage that outlasted
    the retries, a worker killed every time): what it decided stays decided, the pending
    files' stored bytes were kept. 409 when it did not fail or nothing is pending."""
    from media.actors import run_import

    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.status != JobStatus.FAILED:
            raise Conflict(
                f"Only a failed import can be resumed; import {job.pk} is {job.status}.", code="import_not_failed"
            )
        pending = ImportFile.objects.filter(job=job, outcome=ImportOutcome.PENDING).count()
        if not pending:
            raise Conflict(
                f"Import {job.pk} has no file left to import: each was accepted, refused or a duplicate.",
                code="nothing_pending",
            )
        who = getattr(actor, "username", "") or "someone"
        requeue_job(job, message=f"Resumed by {who}: {pending} file(s) left to import.")
        record_event(
            actor=actor,
            organization=job.organization_id,
            action="media.import_resumed",
            target=job,
            after={"project": job.project_id, "pending": pending},
        )
        transaction.on_commit(lambda: run_import.send(job.pk))
    return job


def start_upload_import(
    *, actor, project: Project, uploaded: Sequence, paths: Sequence[str] = (), batch=None, task_name: str = ""
) -> Job:
    """Multipart upload: Django ``UploadedFile`` objects (``paths`` optionally gives each
    one's relative path with folders, which group image sequences)."""
    files = []
    for index, upload in enumerate(uploaded):
        name = paths[index] if index < len(paths) and paths[index] else upload.name
        files.append(IncomingFile(name=name, size=upload.size, content=upload))
    return start_import(
        actor=actor, project=project, files=files, source=Source.UPLOAD, batch=batch, task_name=task_name
    )


def registrable_prefix(project: Project, prefix: str) -> str:
    """The storage prefix a registration reads: inside the organization's inbox only."""
    base = inbox_prefix(project.organization_id)
    cleaned = prefix.strip().strip("/")
    if not cleaned:
        return base
    safe = safe_relative_path(cleaned)
    if safe is None or safe != cleaned:
        raise ValidationError({"prefix": ["Give a relative folder inside your inbox, without '..' or odd characters."]})
    return f"{base}/{safe}"


def start_register_import(*, actor, project: Project, prefix: str, batch=None, task_name: str = "") -> Job:
    """Register files already in the organization's storage area (``orgs/<org>/inbox/``,
    e.g. put there with the S3 tools); they stay where they are."""
    base = registrable_prefix(project, prefix)
    files = []
    for path in list_files(base):
        files.append(IncomingFile(name=path[len(base) + 1 :], stored_path=path, owned=False))
        if len(files) > settings.MEDIA_MAX_FILES_PER_IMPORT:
            break
    if not files:
        raise ValidationError({"prefix": [f"No files under '{prefix or '/'}' in your inbox ({base}/)."]})
    return start_import(
        actor=actor,
        project=project,
        files=files,
        source=Source.REGISTER,
        batch=batch,
        task_name=task_name,
        extra_params={"prefix": base},
    )


@transaction.atomic
def start_resumable_import(
    *, actor, project: Project, uploads: Sequence[Upload], batch=None, task_name: str = ""
) -> Job:
    """Import finished resumable uploads together (a DICOM series sent file by file groups
    into one task)."""
    locked = list(Upload.objects.select_for_update().filter(pk__in=[u.pk for u in uploads], project=project))
    if len(locked) != len({u.pk for u in uploads}):
        raise ValidationError({"upload_ids": ["Some uploads are not in this project."]})
    unfinished = [u for u in locked if u.status != UploadStatus.COMPLETE]
    if unfinished:
        raise ValidationError(
            {
                "upload_ids": [
                    f"Upload {u.pk} ({u.filename}) is {u.status}"
                    + (f" at {u.offset:,} of {u.size_bytes:,} bytes" if u.status == UploadStatus.OPEN else "")
                    + "; only complete uploads can be imported."
                    for u in unfinished
                ]
            }
        )
    files = []
    for upload in sorted(locked, key=lambda u: u.pk):
        safe = safe_relative_path(upload.filename) or "file"
        target = f"{project.storage_prefix}/originals/upload-{upload.pk}/{safe}"
        files.append(IncomingFile(name=upload.filename, size=upload.size_bytes, stored_path=target, upload=upload))
    Upload.objects.filter(pk__in=[u.pk for u in locked]).update(status=UploadStatus.IMPORTED)
    return start_import(
        actor=actor, project=project, files=files, source=Source.RESUMABLE, batch=batch, task_name=task_name
    )
