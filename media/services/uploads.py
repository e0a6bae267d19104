"""Resumable uploads (tus-style): create with the total length, send chunks with
``Upload-Offset``, ask the offset after an interruption, then import.

Each chunk is stored as its own object (``uploads/<id>/<offset>.part``) so the protocol
works the same on local storage and S3 (which cannot append); the worker joins the chunks
into the original when the import runs. A chunk at the wrong offset is refused with the
offset the server has (409), so a client always knows where to resume.
"""

from __future__ import annotations

import io
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from annotator.api.errors import Conflict
from audit.services import record_event
from media.models import Upload, UploadStatus
from media.storage import delete_quietly, list_files, put_file, safe_relative_path
from projects.models import Project


def chunk_prefix(upload: Upload) -> str:
    return f"{upload.project.storage_prefix}/uploads/{upload.pk}"


def chunk_path(upload: Upload, offset: int) -> str:
    return f"{chunk_prefix(upload)}/{offset:016d}.part"


@transaction.atomic
def create_upload(*, actor, project: Project, filename: str, size: int) -> Upload:
    """Open a resumable upload of ``size`` bytes."""
    if safe_relative_path(filename) is None:
        raise ValidationError({"filename": ["Give a file name (folders allowed), without '..' or a leading '/'."]})
    if size <= 0:
        raise ValidationError({"size": ["The file is empty; send a positive size."]})
    if size > settings.MAX_UPLOAD_BYTES:
        raise ValidationError({"size": [f"{size:,} bytes; the limit is {settings.MAX_UPLOAD_BYTES:,}."]})
    purge_expired_uploads(project)
    upload = Upload(
        project=project,
        filename=filename,
        size_bytes=size,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        expires_at=timezone.now() + timedelta(hours=settings.MEDIA_UPLOAD_EXPIRY_HOURS),
    )
    upload.inherit_organization(project)
    upload.save()
    record_event(
        actor=actor,
        organization=project.organization_id,
        action="media.upload_created",
        target=upload,
        after={"filename": filename, "size": size},
    )
    return upload


def append_chunk(*, upload: Upload, offset: int, data: bytes) -> Upload:
    """Store the bytes at ``offset`` (must equal the bytes received so far)."""
    with transaction.atomic():
        current = Upload.objects.select_for_update().select_related("project").get(pk=upload.pk)
        if current.status != UploadStatus.OPEN:
            raise Conflict(
                f"Upload {current.pk} is {current.status}; it takes no more chunks.",
                code="upload_closed",
                offset=current.offset,
            )
        if current.expires_at <= timezone.now():
            raise Conflict(
                f"Upload {current.pk} expired; start a new one.", code="upload_expired", offset=current.offset
            )
        if offset != current.offset:
            raise Conflict(
                f"This upload has {current.offset:,} bytes; send the chunk that starts there (Upload-Offset: "
                f"{current.offset}).",
                code="offset_mismatch",
                offset=current.offset,
            )
        if not data:
            raise ValidationError({"body": ["The chunk is empty."]})
        if current.offset + len(data) > current.size_bytes:
            raise ValidationError({"body": [f"The chunk goes past the declared size ({current.size_bytes:,} bytes)."]})
        # Same offset, same name: a chunk resent after a lost answer replaces itself.
        put_file(chunk_path(current, offset), data)
        current.offset += len(data)
        current.chunk_count += 1
        current.expires_at = timezone.now() + timedelta(hours=settings.MEDIA_UPLOAD_EXPIRY_HOURS)
        if current.offset == current.size_bytes:
            current.status = UploadStatus.COMPLETE
        current.save(update_fields=["offset", "chunk_count", "status", "expires_at", "updated_at"])
    return current


def assemble(upload: Upload, target: str) -> str:
    """Join the chunks of a complete upload into ``target`` and delete them (idempotent:
    a rerun after the chunks are gone finds the target already there)."""
    from media.storage import default_storage

    parts = sorted(list_files(chunk_prefix(upload)))
    if not parts:
        if default_storage.exists(target):
            return target
        raise FileNotFoundError(f"upload {upload.pk} has no chunks and no assembled file")
    put_file(target, _Joined(parts))
    for part in parts:
        delete_quietly(part)
    return target


class _Joined:
    """A read-only file object over chunks in storage, read one after another."""

    def __init__(self, parts: list[str]):
        self.parts = list(parts)
        self.current = None
        self.name = "joined"

    def read(self, size: int = -1) -> bytes:
        from media.storage import default_storage

        out = bytearray()
        while size < 0 or len(out) < size:
            if self.current is None:
                if not self.parts:
                    break
                self.current = default_storage.open(self.parts.pop(0), "rb")
            block = self.current.read(-1 if size < 0 else size - len(out))
            if not block:
                self.current.close()
                self.current = None
                continue
            out += block
        return bytes(out)

    closed = False

    def seekable(self) -> bool:
        return False

    def seek(self, *args):
        raise io.UnsupportedOperation("chunks are read once, in order")


@transaction.atomic
def abort_upload(*, actor, upload: Upload) -> None:
    if upload.status == UploadStatus.IMPORTED:
        raise Conflict("This upload is already part of an import.", code="upload_imported")
    upload.status = UploadStatus.ABORTED
    upload.save(update_fields=["status", "updated_at"])
    for part in list_files(chunk_prefix(upload)):
        delete_quietly(part)
    record_event(actor=actor, organization=upload.organization_id, action="media.upload_aborted", target=upload)


def purge_expired_uploads(project: Project | None = None, *, batch: int = 100) -> int:
    """Abort the uploads never imported that are past their expiry and delete their chunks:
    up to ``batch`` of one project when a new upload starts there; every project, batch after
    batch, from the workers' periodic maintenance (``tasks.actors``). Returns how many.

    An upload is aborted only if it is still expired and unimported when its row is updated:
    one that an import took meanwhile (``start_resumable_import`` locks it) keeps its chunks."""
    purged = 0
    while True:
        moment = timezone.now()
        due = Upload.objects.filter(status__in=[UploadStatus.OPEN, UploadStatus.COMPLETE], expires_at__lte=moment)
        if project is not None:
            due = due.filter(project=project)
        candidates = list(due.select_related("project").order_by("expires_at", "id")[:batch])
        for upload in candidates:
            aborted = Upload.objects.filter(
                pk=upload.pk, status__in=[UploadStatus.OPEN, UploadStatus.COMPLETE], expires_at__lte=moment
            ).update(status=UploadStatus.ABORTED, updated_at=moment)
            if aborted:
                for part in list_files(chunk_prefix(upload)):
                    delete_quietly(part)
                purged += 1
        if project is not None or len(candidates) < batch:
            return purged
