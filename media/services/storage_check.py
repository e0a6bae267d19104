"""Storage verification: do the files the database points at exist, and which stored files
does nothing point at (orphans)? What ``manage.py verify_storage`` runs, e.g. after a
restore (see docs/operations.md).

A reference is a storage path held by a row: media originals and their derived files
(thumbnails, posters, playback copies), files of imports still pending, uploaded
annotation imports, export archives, registered models and inference images. Some stored
files are kept without a row naming them and are never orphans: the chunks of a resumable
upload that still exists, the rendered-frame cache of a task that still exists, and the
organization's own inbox (files put there to be registered belong to the organization).

Everything Annotator stores lies under ``orgs/<organization id>/``, so one organization's
check lists only its own prefix. Listing is flat (one paged listing of the bucket on S3, a
directory walk locally); missing files are re-checked one by one before they are reported,
so rows and files created while the listing runs are not reported missing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.core.files.storage import default_storage

from media.storage import delete_quietly, is_s3, org_area

_INBOX = re.compile(r"^orgs/\d+/inbox/")
_FRAME_CACHE = re.compile(r"^orgs/(\d+)/projects/(\d+)/cache/frames/(\d+)/")
_UPLOAD_CHUNKS = re.compile(r"^orgs/(\d+)/projects/(\d+)/uploads/(\d+)/")


@dataclass(frozen=True)
class Reference:
    """A stored file a row points at: ``what`` names the row and field (``asset 12 thumbnail``)."""

    path: str
    what: str
    organization_id: int | None


@dataclass(frozen=True)
class StoredFile:
    path: str
    size: int
    modified: datetime | None


@dataclass
class StorageReport:
    storage: str  # where was looked: a folder, or s3://bucket/prefix
    scope: str  # "all organizations" or "organization <id> (<slug>)"
    stored_files: int = 0
    referenced_files: int = 0
    kept_files: int = 0  # stored, not referenced, but kept on purpose (inbox, upload chunks, frame cache)
    missing: list[Reference] = field(default_factory=list)
    orphans: list[StoredFile] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing

    def as_dict(self) -> dict:
        return {
            "storage": self.storage,
            "scope": self.scope,
            "stored_files": self.stored_files,
            "referenced_files": self.referenced_files,
            "kept_files": self.kept_files,
            "missing": [{"path": r.path, "what": r.what, "organization": r.organization_id} for r in self.missing],
            "orphans": [
                {"path": f.path, "size": f.size, "modified": f.modified.isoformat() if f.modified else None}
                for f in self.orphans
            ],
            "deleted": self.deleted,
            "ok": self.ok,
        }


# --- what the database points at ----------------------------------------------------------
def iter_references(organization_id: int | None = None) -> Iterator[Reference]:
    """Every stored path a row holds (one organization's, or all)."""
    from exports.models import Export, Import
    from media.models import Asset, ImportFile, ImportOutcome
    from ml.models import InferenceModel, InferenceRecord

    def rows(model, *fields: str, **filters):
        queryset = model.objects.all()
        if organization_id is not None:
            queryset = queryset.filter(organization_id=organization_id)
        return queryset.filter(**filters).values_list("organization_id", "pk", *fields).iterator(chunk_size=2000)

    for org, pk, *paths in rows(Asset, "file", "thumbnail_path", "poster_path", "playback_path"):
        for label, path in zip(("original", "thumbnail", "poster", "playback copy"), paths, strict=True):
            if path:
                yield Reference(path, f"asset {pk} {label}", org)
    # Files of imports not decided yet (a running or interrupted import); resumable uploads
    # are only joined into their original when the import runs: their chunks are kept below.
    pending = {"outcome": ImportOutcome.PENDING, "upload__isnull": True}
    for org, pk, path in rows(ImportFile, "stored_path", **pending):
        if path:
            yield Reference(path, f"import file {pk} (pending)", org)
    for org, pk, path in rows(Import, "upload_path"):
        if path:
            yield Reference(path, f"annotation import {pk} upload", org)
    for org, pk, path in rows(Export, "file_path"):
        if path:
            yield Reference(path, f"export {pk} archive", org)
    for org, pk, path in rows(InferenceModel, "file"):
        if path:
            yield Reference(path, f"model {pk} file", org)
    for org, pk, image, result in rows(InferenceRecord, "image_path", "result_image_path"):
        if image:
            yield Reference(image, f"inference record {pk} image", org)
        if result:
            yield Reference(result, f"inference record {pk} result image", org)


class _Kept:
    """Stored files no row names that are kept on purpose."""

    def __init__(self, organization_id: int | None):
        from media.models import Upload, UploadStatus
        from tasks.models import Task

        tasks = Task.objects.all()
        uploads = Upload.objects.exclude(status=UploadStatus.ABORTED)
        if organization_id is not None:
            tasks, uploads = (
                tasks.filter(organization_id=organization_id),
                uploads.filter(organization_id=organization_id),
            )
        self.tasks = set(tasks.values_list("organization_id", "project_id", "pk").iterator(chunk_size=5000))
        self.uploads = set(uploads.values_list("organization_id", "project_id", "pk").iterator(chunk_size=5000))

    def __contains__(self, path: str) -> bool:
        if _INBOX.match(path):
            return True  # the organization's own files, waiting to be registered
        if found := _FRAME_CACHE.match(path):
            return tuple(int(n) for n in found.groups()) in self.tasks
        if found := _UPLOAD_CHUNKS.match(path):
            return tuple(int(n) for n in found.groups()) in self.uploads
        return False


# --- what the storage holds ----------------------------------------------------------------
def storage_description() -> str:
    if is_s3():
        location = (getattr(default_storage, "location", "") or "").strip("/")
        return f"s3://{default_storage.bucket_name}/{location}".rstrip("/")
    return str(default_storage.location)


def iter_stored_files(prefix: str = "") -> Iterator[StoredFile]:
    """Every file under ``prefix`` (relative to the storage's root), with size and mtime."""
    prefix = prefix.strip("/")
    if is_s3():
        location = (getattr(default_storage, "location", "") or "").strip("/")
        key_prefix = "/".join(part for part in (location, prefix) if part)
        strip = len(location) + 1 if location else 0
        for obj in default_storage.bucket.objects.filter(Prefix=f"{key_prefix}/" if key_prefix else ""):
            if not obj.key.endswith("/"):
                yield StoredFile(obj.key[strip:], int(obj.size), obj.last_modified)
        return
    root = Path(default_storage.location)
    top = root / prefix if prefix else root
    for folder, _dirs, files in os.walk(top):
        for name in files:
            path = Path(folder) / name
            try:
                stat = path.lstat()
            except FileNotFoundError:  # removed while we walked
                continue
            modified = datetime.fromtimestamp(stat.st_mtime, tz=UTC)
            yield StoredFile(path.relative_to(root).as_posix(), stat.st_size, modified)


# --- the check -----------------------------------------------------------------------------
def verify_storage(*, organization=None) -> StorageReport:
    """Compare the database's references with the storage (one organization's, or all)."""
    organization_id = organization.pk if organization is not None else None
    scope = f"organization {organization.pk} ({organization.slug})" if organization is not None else "all organizations"
    report = StorageReport(storage=storage_description(), scope=scope)
    # References first, then the listing: a row and file created in between is an orphan for
    # a moment (young: never deleted, see delete_orphans), never a false "missing".
    references: dict[str, Reference] = {}
    for reference in iter_references(organization_id):
        references.setdefault(reference.path, reference)
    kept = _Kept(organization_id)
    prefix = f"{org_area(organization_id)}/" if organization_id is not None else ""
    stored: set[str] = set()
    for item in iter_stored_files(prefix):
        stored.add(item.path)
        if item.path in references:
            continue
        if item.path in kept:
            report.kept_files += 1
        else:
            report.orphans.append(item)
    report.stored_files = len(stored)
    report.referenced_files = len(references)
    for path, reference in references.items():
        if path not in stored and not default_storage.exists(path):
            report.missing.append(reference)
    report.orphans.sort(key=lambda item: item.path)
    report.missing.sort(key=lambda reference: reference.path)
    return report


def delete_orphans(report: StorageReport, *, older_than: timedelta) -> list[str]:
    """Delete the report's orphans last modified more than ``older_than`` ago (younger ones
    may belong to an import or export still running). Returns the deleted paths."""
    cutoff = datetime.now(tz=UTC) - older_than
    for item in report.orphans:
        if item.modified is not None and item.modified <= cutoff:
            delete_quietly(item.path)
            report.deleted.append(item.path)
    return report.deleted
