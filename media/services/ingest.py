"""Running an import in a worker: check every file, group them as the project kind says,
and turn each group into one task — or refuse it whole, with a reason per file.

Order of work (each step safe to repeat, so a retried message neither duplicates nor
loses anything):

1. resumable uploads are joined into their original;
2. every pending file is checked: size, type by content, archives expanded in place of
   the archive, content hash, duplicate within the project, kind accepted by the project,
   DICOM header read;
3. files are grouped (image/video/text: one task each; image sequences and multi-image
   tasks: by folder; DICOM: by SeriesInstanceUID);
4. each group is prepared (decoded, derived files written) and saved in one transaction
   with its task; a refused file refuses its whole group (no partial task).

Files already decided (a previous attempt got that far) are skipped.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from pathlib import PurePosixPath

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from jobs.models import Job, JobStatus
from jobs.services import create_job, finish_job, is_cancel_requested, report_progress
from media import archives, dicom
from media.models import Asset, Frame, ImportFile, ImportOutcome
from media.selectors import import_counts
from media.services import prepare
from media.services.prepare import Candidate, PreparedTask, Refusal
from media.services.tasks import create_media_task, publish_task_created
from media.sniff import HEAD_BYTES, NOT_UTF8_TEXT, sniff
from media.storage import delete_quietly, is_storage_error, local_file, put_file, sha256_of_file
from projects.kinds import MediaKind
from projects.models import Project

logger = logging.getLogger(__name__)

VIDEO_JOB_KIND = "media.video"
FRAME_BATCH = 2000
MAX_JOB_ERRORS = 1000  # per-file reasons stay complete in ImportFile rows


def is_infrastructure_error(exc: BaseException) -> bool:
    """The platform is unwell, not the file (database, object storage, the network): the
    import is retried rather than the file refused."""
    return isinstance(exc, (DatabaseError, ConnectionError, TimeoutError)) or is_storage_error(exc)


def delete_written(paths: list[str]) -> None:
    """Best-effort removal of files written for work that will not be saved; storage that is
    down cannot delete them either (a retry writes them again under the same names)."""
    for path in paths:
        try:
            delete_quietly(path)
        except Exception as exc:
            if not is_storage_error(exc):
                raise
            logger.warning("could not delete %s (storage unavailable): %s", path, exc)


# What each project media kind takes (by content), and how to say it.
ACCEPTED_KINDS = {
    MediaKind.IMAGE: "image",
    MediaKind.IMAGES: "image",
    MediaKind.IMAGE_SEQUENCE: "image",
    MediaKind.VIDEO: "video",
    MediaKind.DICOM_SERIES: "dicom",
    MediaKind.TEXT: "text",
}
KIND_WORDS = {"image": "images", "video": "videos", "dicom": "DICOM files", "text": "UTF-8 text files"}


def _with_article(words: str) -> str:
    return f"{'an' if words[:1].lower() in 'aeiou' else 'a'} {words}"


# --- the run -------------------------------------------------------------------------------
class ImportRun:
    def __init__(self, job: Job, project: Project):
        self.job = job
        self.project = project
        self.actor = job.created_by
        self.batch = self._batch()
        self.accepts = ACCEPTED_KINDS[project.kind_info.media]
        self.errors: list[str] = []
        self.seen_hashes: dict[str, str] = {}
        self.timings: dict[str, float] = {}

    def _batch(self):
        from tasks.models import Batch

        batch_id = self.job.params.get("batch_id")
        return Batch.objects.filter(pk=batch_id, project=self.project).first() if batch_id else None

    # decisions ---------------------------------------------------------------------------
    def decide(self, item: ImportFile, outcome: str, code: str = "", reason: str = "", **links) -> None:
        item.outcome, item.code, item.reason = outcome, code, reason[:2000]
        item.decided_at = timezone.now()
        fields = ["outcome", "code", "reason", "decided_at", "content_hash", "detected_type", "size_bytes"]
        for key, value in links.items():
            setattr(item, key, value)
            fields.append(key)
        item.save(update_fields=fields)
        if outcome in (ImportOutcome.REFUSED, ImportOutcome.DUPLICATE, ImportOutcome.EXPANDED) and item.owned:
            delete_quietly(item.stored_path)
        if outcome == ImportOutcome.REFUSED:
            self.errors.append(f"{item.name}: {reason}")
        elif outcome == ImportOutcome.DUPLICATE:
            self.errors.append(f"{item.name}: duplicate — {reason}")

    def progress(self, message: str | None = None) -> None:
        files = ImportFile.objects.filter(job=self.job, is_archive=False)
        total = files.count()
        done = files.exclude(outcome=ImportOutcome.PENDING).count()
        if self.errors:
            self.job.errors = [*self.job.errors, *self.errors][-MAX_JOB_ERRORS:]
            Job.objects.filter(pk=self.job.pk).update(errors=self.job.errors)
            self.errors = []
        report_progress(self.job, done=done, total=total, message=message)

    def pending(self):
        return list(ImportFile.objects.filter(job=self.job, outcome=ImportOutcome.PENDING).order_by("position", "id"))

    # step 1 --------------------------------------------------------------------------------
    def join_resumable_uploads(self) -> None:
        from media.services.uploads import assemble

        for item in self.pending():
            if item.upload_id is not None:
                try:
                    assemble(item.upload, item.stored_path)
                except FileNotFoundError as exc:
                    self.decide(item, ImportOutcome.REFUSED, "upload_missing", str(exc))

    # step 2 --------------------------------------------------------------------------------
    def check(self, item: ImportFile) -> Candidate | None:
        try:
            with local_file(item.stored_path) as path:
                size = path.stat().st_size
                item.size_bytes = size
                if size == 0:
                    self.decide(item, ImportOutcome.REFUSED, "empty", "the file is empty")
                    return None
                if size > settings.MAX_UPLOAD_BYTES:
                    self.decide(
                        item,
                        ImportOutcome.REFUSED,
                        "too_large",
                        f"{size:,} bytes; the limit is {settings.MAX_UPLOAD_BYTES:,}",
                    )
                    return None
                with open(path, "rb") as handle:
                    sniffed = sniff(handle.read(HEAD_BYTES))
                item.detected_type = sniffed.label[:40]
                if sniffed.kind == "archive":
                    self.expand(item, path, sniffed.format)
                    return None
                if sniffed.kind != self.accepts:
                    self.decide(item, ImportOutcome.REFUSED, *self.kind_refusal(sniffed))
                    return None
                item.content_hash = sha256_of_file(path)
                if self.is_duplicate(item):
                    return None
                header = None
                if sniffed.kind == "dicom":
                    try:
                        header = dicom.read_header(path)
                    except dicom.DicomError as exc:
                        self.decide(item, ImportOutcome.REFUSED, exc.code, str(exc))
                        return None
        except FileNotFoundError:
            self.decide(item, ImportOutcome.REFUSED, "missing", "the file is no longer in storage")
            return None
        self.seen_hashes[item.content_hash] = item.name
        return Candidate(item=item, sniffed=sniffed, content_hash=item.content_hash, size=size, header=header)

    def kind_refusal(self, sniffed) -> tuple[str, str]:
        wanted = KIND_WORDS[self.accepts]
        project = _with_article(f"{self.project.kind_info.title} project")
        if sniffed == NOT_UTF8_TEXT and self.accepts == "text":
            return "not_utf8", "the text is not UTF-8 (Latin-1 or another legacy encoding?): save it as UTF-8"
        if sniffed.kind == "unknown":
            what = "an empty file" if sniffed.format == "empty" else f"not a supported file ({sniffed.format})"
            return "unsupported_type", f"{what}; this {self.project.kind_info.title} project takes {wanted}"
        return (
            "wrong_kind",
            f"{_with_article(sniffed.kind)} file ({sniffed.format}) cannot go into {project}; it takes {wanted}",
        )

    def is_duplicate(self, item: ImportFile) -> bool:
        earlier = self.seen_hashes.get(item.content_hash)
        if earlier is not None:
            self.decide(item, ImportOutcome.DUPLICATE, "duplicate", f"same content as '{earlier}' in this import")
            return True
        existing = (
            Asset.objects.filter(project=self.project, content_hash=item.content_hash).select_related("task").first()
        )
        if existing is not None:
            where = f"task {existing.task_id} '{existing.task.name}'" if existing.task else "an earlier import"
            self.decide(
                item,
                ImportOutcome.DUPLICATE,
                "duplicate",
                f"same content as '{existing.original_name}' ({where})",
                asset=existing,
                task=existing.task,
            )
            return True
        return False

    def expand(self, item: ImportFile, path, fmt: str) -> None:
        """Replace an archive by its members (new pending files, checked like the others)."""
        item.is_archive = True
        base = f"{self.project.storage_prefix}/originals/{self.job.pk}/{item.position}"
        stem = PurePosixPath(item.name).name
        for suffix in (".zip", ".tgz", ".tar.gz", ".tar.bz2", ".tar.xz", ".tar", ".gz"):
            if stem.lower().endswith(suffix):
                stem = stem[: -len(suffix)]
                break
        limits = archives.Limits(
            max_members=settings.MEDIA_MAX_ARCHIVE_MEMBERS,
            max_total_bytes=settings.MEDIA_MAX_ARCHIVE_EXPANDED_BYTES,
            max_ratio=settings.MEDIA_MAX_ARCHIVE_RATIO,
            max_member_bytes=settings.MAX_UPLOAD_BYTES,
        )

        stored: list[str] = []

        def store(name: str, local) -> str:
            with open(local, "rb") as handle:
                stored.append(put_file(f"{base}/{name}", handle))
            return stored[-1]

        try:
            members = archives.expand(path, "zip" if fmt == "zip" else "tar", limits, store)
        except archives.ArchiveError as exc:
            for stored in getattr(exc, "stored", []):
                delete_quietly(stored)
            item.is_archive = False  # refused as a file: counted like one
            self.decide(item, ImportOutcome.REFUSED, exc.code, str(exc))
            return
        except Exception:
            delete_written(stored)  # storage or database down: the retry expands it again from the start
            raise
        if not members:
            item.is_archive = False
            self.decide(item, ImportOutcome.REFUSED, "empty", "the archive has no files")
            return
        now = timezone.now()
        folder = stem if len(PurePosixPath(item.name).parts) <= 1 else str(PurePosixPath(item.name).with_name(stem))
        rows = []
        for offset, member in enumerate(members):
            row = ImportFile(
                organization_id=self.project.organization_id,
                job=self.job,
                project=self.project,
                position=item.position * 100000 + offset + 1,
                name=f"{folder}/{member.name}"[:1000] if self._keep_archive_folder(members) else member.name[:1000],
                size_bytes=member.size,
                stored_path=member.stored_path,
                parent=item,
            )
            if member.code:
                row.outcome, row.code, row.reason = ImportOutcome.REFUSED, member.code, member.reason
                row.decided_at = now
                self.errors.append(f"{row.name}: {member.reason}")
            rows.append(row)
        with transaction.atomic():
            ImportFile.objects.bulk_create(rows)
            self.decide(item, ImportOutcome.EXPANDED, "", f"{len(members)} files", is_archive=True)

    def _keep_archive_folder(self, members) -> bool:
        # Loose files at the archive's root are grouped under the archive's name (image
        # sequences); files already in folders keep their own folders.
        return all(len(PurePosixPath(m.name).parts) == 1 for m in members)

    def check_all(self) -> list[Candidate]:
        started = time.monotonic()
        candidates: list[Candidate] = []
        last_report = time.monotonic()
        while True:
            checked = {c.item.pk for c in candidates}
            batch = [item for item in self.pending() if item.pk not in checked]
            if not batch:
                break
            for item in batch:
                try:
                    candidate = self.check(item)
                except Exception as exc:  # an unforeseen decoder failure refuses this file only
                    if is_infrastructure_error(exc):
                        raise  # retried by the actor
                    logger.exception("import %s: %r could not be checked", self.job.pk, item.name)
                    reason = f"could not be read ({type(exc).__name__})"
                    self.decide(item, ImportOutcome.REFUSED, "processing_error", reason)
                    continue
                if candidate is not None:
                    candidates.append(candidate)
                if time.monotonic() - last_report > 1.0:
                    self.progress("checking files")
                    last_report = time.monotonic()
        self.timings["check_seconds"] = round(time.monotonic() - started, 3)
        return candidates

    # step 3 --------------------------------------------------------------------------------
    def groups(self, candidates: list[Candidate]) -> list[tuple[str, list[Candidate]]]:
        media = self.project.kind_info.media
        if media in (MediaKind.IMAGE, MediaKind.VIDEO, MediaKind.TEXT):
            return [(PurePosixPath(c.name).name, [c]) for c in candidates]
        grouped: dict[str, list[Candidate]] = defaultdict(list)
        for candidate in candidates:
            if media == MediaKind.DICOM_SERIES:
                header = candidate.header
                key = f"uid:{header.series_instance_uid}" if header and header.series_instance_uid else None
                grouped[key or f"folder:{candidate.folder}"].append(candidate)
            else:
                grouped[candidate.folder].append(candidate)
        out = []
        for key, members in grouped.items():
            if media == MediaKind.DICOM_SERIES:
                name = prepare.dicom_task_name(members)
            else:
                name = PurePosixPath(key).name if key else (self.job.params.get("task_name") or f"Import {self.job.pk}")
            out.append((name, members))
        return sorted(out, key=lambda group: min(c.item.position for c in group[1]))

    # step 4 --------------------------------------------------------------------------------
    def prepare(self, name: str, members: list[Candidate], written: list[str]) -> PreparedTask:
        media = self.project.kind_info.media
        if media in (MediaKind.IMAGE, MediaKind.IMAGES, MediaKind.IMAGE_SEQUENCE):
            return prepare.prepare_images(self.project, name, members, written)
        if media == MediaKind.VIDEO:
            return prepare.prepare_video(self.project, members[0], written)
        if media == MediaKind.DICOM_SERIES:
            return prepare.prepare_dicom_series(self.project, name, members, written, job_id=self.job.pk)
        return prepare.prepare_text(self.project, members[0], written)

    def ingest_group(self, name: str, members: list[Candidate]) -> None:
        written: list[str] = []
        try:
            prepared = self.prepare(name, members, written)
        except Refusal as refusal:
            for path in written:
                delete_quietly(path)
            self.refuse_group(members, refusal)
            return
        except Exception as exc:  # a decoder failing in an unforeseen way refuses the group only
            if is_infrastructure_error(exc):
                delete_written(written)
                raise  # retried by the actor
            logger.exception("import %s: group %r could not be processed", self.job.pk, name)
            for path in written:
                delete_quietly(path)
            self.refuse_group(members, Refusal("processing_error", f"could not be processed ({type(exc).__name__})"))
            return
        try:
            self.save(prepared)
        except IntegrityError:
            logger.warning("import %s: group %r collided on save", self.job.pk, name, exc_info=True)
            # Another import saved the same content meanwhile: report who was first.
            for path in prepared.derived:
                delete_quietly(path)
            for candidate in members:
                self.seen_hashes.pop(candidate.content_hash, None)
                if not self.is_duplicate(candidate.item):
                    self.decide(
                        candidate.item,
                        ImportOutcome.REFUSED,
                        "group_refused",
                        "not imported: another file of the same group was imported elsewhere at the same time",
                    )

    def refuse_group(self, members: list[Candidate], refusal: Refusal) -> None:
        culprit = refusal.item
        word = "series" if self.accepts == "dicom" else "folder"
        for candidate in members:
            if culprit is None or candidate.item.pk == culprit.pk:
                self.decide(candidate.item, ImportOutcome.REFUSED, refusal.code, refusal.reason)
            else:
                self.decide(
                    candidate.item,
                    ImportOutcome.REFUSED,
                    "group_refused",
                    f"not imported: '{culprit.name}' of the same {word} was refused ({refusal.reason})",
                )

    @transaction.atomic
    def save(self, prepared: PreparedTask) -> None:
        task = create_media_task(
            actor=self.actor, project=self.project, name=prepared.name, batch=self.batch, text=prepared.text
        )
        for position, item in enumerate(prepared.assets):
            candidate = item.candidate
            asset = Asset(
                project=self.project,
                task=task,
                position=position,
                kind=item.kind,
                original_name=candidate.name[:500],
                file=item.file,
                size_bytes=candidate.size,
                content_hash=candidate.content_hash,
                mime_type=candidate.sniffed.mime,
                width=item.width,
                height=item.height,
                frame_count=item.frame_count,
                metadata=item.metadata,
                thumbnail_path=item.thumbnail_path,
                poster_path=item.poster_path,
                status=item.status,
                created_by=self.actor,
            )
            asset.inherit_organization(self.project)
            asset.save()
            for start in range(0, len(item.frames), FRAME_BATCH):  # long videos: bounded memory
                Frame.objects.bulk_create(
                    [
                        Frame(organization_id=self.project.organization_id, task=task, asset=asset, **fields)
                        for fields in item.frames[start : start + FRAME_BATCH]
                    ]
                )
            self.decide(candidate.item, ImportOutcome.ACCEPTED, task=task, asset=asset)
            if prepared.needs_video_processing:
                self.queue_video_processing(asset)
        publish_task_created(task)

    def queue_video_processing(self, asset: Asset) -> None:
        job = create_job(
            organization=self.project.organization_id,
            kind=VIDEO_JOB_KIND,
            created_by=self.actor,
            project=self.project,
            params={"asset_id": asset.pk, "task_id": asset.task_id, "import_job_id": self.job.pk},
            total=asset.frame_count or 0,
        )
        from media.actors import process_video

        transaction.on_commit(lambda: process_video.send(job.pk))

    def cancel_rest(self) -> None:
        """Cancelled: the files not imported yet are refused (their uploaded bytes deleted)."""
        for item in self.pending():
            self.decide(item, ImportOutcome.REFUSED, "cancelled", "the import was cancelled before this file")

    def ingest_all(self, candidates: list[Candidate]) -> bool:
        started = time.monotonic()
        for name, members in self.groups(candidates):
            if is_cancel_requested(self.job):
                self.cancel_rest()
                return False
            self.ingest_group(name, members)
            self.progress(f"imported {name}"[:500])
        self.timings["ingest_seconds"] = round(time.monotonic() - started, 3)
        return True


def run_import(job: Job) -> None:
    """The whole import (called by ``media.actors.run_import`` with a started job)."""
    project = Project.objects.filter(pk=job.project_id, organization_id=job.organization_id).first()
    if project is None:
        finish_job(job, status=JobStatus.FAILED, message="The project was deleted before the import ran.")
        return
    run = ImportRun(job, project)
    run.join_resumable_uploads()
    candidates = run.check_all()
    run.progress("grouping files")
    completed = run.ingest_all(candidates)
    run.progress()
    counts = import_counts(job)
    result = {**counts, "timings": run.timings}
    if not completed:
        finish_job(job, status=JobStatus.CANCELLED, result=result, message="Cancelled.")
        return
    message = (
        f"{counts['accepted']} accepted, {counts['refused']} refused, {counts['duplicate']} duplicate; "
        f"{counts['tasks']} task(s)"
    )
    finish_job(job, result=result, message=message)
