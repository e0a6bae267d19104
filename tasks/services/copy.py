"""Copy a project's content ("copy with all content"): batches, tasks with their tags, media
rows with their stored files, and annotations, with every id remapped.

Registered with ``projects.services.projects.register_content_copier`` (tasks.apps) and run
by the project-copy job. Resumable: tasks are copied in id order, chunk by chunk, each chunk
in one transaction that also records a checkpoint on the job, so a redelivered job continues
where it stopped instead of copying twice. Stored files are copied before their chunk's rows
(a file already at its target path is not copied again).

Not copied: locks, claim and status history, comments, AI predictions, annotation
revisions (a copy starts at revision 0 with the current annotation set). Tasks that were
``in_progress`` (someone's live work) start again as ``created``/``assigned``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction

from jobs.models import Job
from jobs.services import report_progress
from projects.models import LabelClass, Project
from tasks.models import Batch, Task, TaskStatus

logger = logging.getLogger(__name__)

CHUNK = 500
CHECKPOINT_KEY = "tasks_copy"
# Keys of a relation's geometry that name other annotations (remapped to the copies).
RELATION_ID_KEYS = ("from_id", "to_id", "source_id", "target_id", "annotation_id", "annotation_ids", "from", "to")
_TASK_FIELDS = (
    "name",
    "priority",
    "assignee_id",
    "reviewer_id",
    "annotator_id",
    "text",
    "submitted_at",
    "completed_at",
)


def _copied_status(task: Task) -> str:
    if task.status == TaskStatus.IN_PROGRESS:
        return TaskStatus.ASSIGNED if task.assignee_id else TaskStatus.CREATED
    return task.status


class _FileCopier:
    """Copies files under the source project's prefix to the same place under the target's."""

    def __init__(self, source: Project, target: Project, job: Job):
        self.source_prefix = source.storage_prefix.rstrip("/") + "/"
        self.target_prefix = target.storage_prefix.rstrip("/") + "/"
        self.job = job
        self.copied = 0

    def __call__(self, path: str) -> str:
        if not path or not path.startswith(self.source_prefix):
            return path  # empty, or registered from storage outside the project: shared, not copied
        new_path = self.target_prefix + path[len(self.source_prefix) :]
        if default_storage.exists(new_path):
            return new_path
        try:
            with default_storage.open(path, "rb") as handle:
                saved = default_storage.save(new_path, handle)
        except FileNotFoundError:
            report_progress(self.job, error=f"Missing stored file, not copied: {path}")
            return new_path
        self.copied += 1
        return saved


def _asset_copy(asset, target: Project, task_id: int | None, copy_file: _FileCopier):
    from media.models import Asset

    data = {
        field.attname: getattr(asset, field.attname)
        for field in Asset._meta.concrete_fields
        if field.attname not in ("id", "project_id", "task_id", "organization_id", "created_at")
    }
    for path_field in ("file", "thumbnail_path", "poster_path", "playback_path"):
        data[path_field] = copy_file(data[path_field])
    return Asset(organization_id=target.organization_id, project=target, task_id=task_id, **data)


def _remap_relation(geometry: Any, annotation_map: dict[int, int]) -> Any:
    if not isinstance(geometry, dict):
        return geometry
    out = dict(geometry)
    for key in RELATION_ID_KEYS:
        value = out.get(key)
        if isinstance(value, int) and value in annotation_map:
            out[key] = annotation_map[value]
        elif isinstance(value, list):
            out[key] = [annotation_map.get(v, v) if isinstance(v, int) else v for v in value]
    return out


class _ContentCopy:
    def __init__(self, source: Project, target: Project, actor, job: Job):
        self.source, self.target, self.actor, self.job = source, target, actor, job
        self.copy_file = _FileCopier(source, target, job)
        self.label_map = self._label_map()
        self.batch_map = self._copy_batches()
        self.asset_map: dict[int, int] = {}

    def _label_map(self) -> dict[int, int]:
        by_name = dict(LabelClass.objects.filter(project=self.target).values_list("name", "pk"))
        return {
            pk: by_name[name]
            for pk, name in LabelClass.objects.filter(project=self.source).values_list("pk", "name")
            if name in by_name
        }

    def _copy_batches(self) -> dict[int, int]:
        mapping = {}
        for batch in Batch.objects.filter(project=self.source).order_by("pk"):
            copy, _ = Batch.objects.get_or_create(
                project=self.target,
                name=batch.name,
                defaults={"organization_id": self.target.organization_id, "description": batch.description},
            )
            mapping[batch.pk] = copy.pk
        return mapping

    def copy_loose_assets(self) -> None:
        """Project media that belongs to no task (idempotent: one asset per content hash)."""
        from media.models import Asset

        existing = dict(Asset.objects.filter(project=self.target).values_list("content_hash", "pk"))
        for asset in Asset.objects.filter(project=self.source, task__isnull=True).order_by("pk"):
            if asset.content_hash not in existing:
                copy = _asset_copy(asset, self.target, None, self.copy_file)
                copy.save()
                existing[asset.content_hash] = copy.pk
            self.asset_map[asset.pk] = existing[asset.content_hash]

    def copy_chunk(self, after_id: int) -> tuple[int, int]:
        """Copy the next chunk of tasks after ``after_id``; returns (count, last source id)."""
        from annotations.models import Annotation
        from media.models import Asset, Frame

        source_tasks = list(Task.objects.filter(project=self.source, pk__gt=after_id).order_by("pk")[:CHUNK])
        if not source_tasks:
            return 0, after_id
        source_ids = [task.pk for task in source_tasks]
        assets = list(Asset.objects.filter(task_id__in=source_ids).order_by("pk"))
        asset_copies = [(asset, _asset_copy(asset, self.target, None, self.copy_file)) for asset in assets]
        with transaction.atomic():
            copies = [
                Task(
                    organization_id=self.target.organization_id,
                    project=self.target,
                    batch_id=self.batch_map.get(task.batch_id),
                    status=_copied_status(task),
                    **{field: getattr(task, field) for field in _TASK_FIELDS},
                )
                for task in source_tasks
            ]
            Task.objects.bulk_create(copies)
            task_map = {src.pk: copy.pk for src, copy in zip(source_tasks, copies, strict=True)}
            through = Task.tags.through
            through.objects.bulk_create(
                [
                    through(task_id=task_map[task_id], tag_id=tag_id)
                    for task_id, tag_id in through.objects.filter(task_id__in=source_ids).values_list(
                        "task_id", "tag_id"
                    )
                ]
            )
            for asset, copy in asset_copies:
                copy.task_id = task_map[asset.task_id]
            Asset.objects.bulk_create([copy for _, copy in asset_copies])
            self.asset_map.update({asset.pk: copy.pk for asset, copy in asset_copies})
            Frame.objects.bulk_create(
                [self._frame_copy(frame, task_map) for frame in Frame.objects.filter(task_id__in=source_ids)]
            )
            self._copy_annotations(Annotation, source_ids, task_map)
            last = source_tasks[-1].pk
            done = (self.job.result or {}).get(CHECKPOINT_KEY, {}).get("copied", 0) + len(source_tasks)
            self.job.result = {**(self.job.result or {}), CHECKPOINT_KEY: {"after_task_id": last, "copied": done}}
            Job.objects.filter(pk=self.job.pk).update(result=self.job.result)
        return len(source_tasks), last

    def _frame_copy(self, frame, task_map: dict[int, int]):
        from media.models import Asset, Frame

        asset_id = self.asset_map.get(frame.asset_id)
        if asset_id is None:  # media of another task or project-level media not seen yet
            source_asset = Asset.objects.get(pk=frame.asset_id)
            asset_id = Asset.objects.get(project=self.target, content_hash=source_asset.content_hash).pk
            self.asset_map[frame.asset_id] = asset_id
        data = {
            field.attname: getattr(frame, field.attname)
            for field in Frame._meta.concrete_fields
            if field.attname not in ("id", "task_id", "asset_id", "organization_id")
        }
        return Frame(
            organization_id=self.target.organization_id, task_id=task_map[frame.task_id], asset_id=asset_id, **data
        )

    def _copy_annotations(self, Annotation, source_ids: list[int], task_map: dict[int, int]) -> None:
        skip = {"id", "task_id", "project_id", "label_id", "organization_id", "prediction_id", "prediction_shape_index"}
        skip |= {"created_at", "updated_at"}
        sources = list(Annotation.objects.filter(task_id__in=source_ids).order_by("pk"))
        copies = []
        for annotation in sources:
            data = {
                field.attname: getattr(annotation, field.attname)
                for field in Annotation._meta.concrete_fields
                if field.attname not in skip
            }
            copies.append(
                Annotation(
                    organization_id=self.target.organization_id,
                    project=self.target,
                    task_id=task_map[annotation.task_id],
                    label_id=self.label_map.get(annotation.label_id),
                    **data,
                )
            )
        Annotation.objects.bulk_create(copies)
        annotation_map = {src.pk: copy.pk for src, copy in zip(sources, copies, strict=True)}
        relations = [copy for copy in copies if copy.type == "relation"]
        for copy in relations:
            copy.geometry = _remap_relation(copy.geometry, annotation_map)
        if relations:
            Annotation.objects.bulk_update(relations, ["geometry"])


def copy_project_content(source: Project, target: Project, actor, job: Job) -> None:
    """Copy ``source``'s batches, tasks (with tags), media rows and files, and annotations into
    ``target`` (a project created by ``copy_project``), reporting progress on ``job``."""
    copier = _ContentCopy(source, target, actor, job)
    total = Task.objects.filter(project=source).count()
    checkpoint = (job.result or {}).get(CHECKPOINT_KEY, {})
    after_id, done = checkpoint.get("after_task_id", 0), checkpoint.get("copied", 0)
    report_progress(job, done=done, total=total, message="Copying batches, tasks, media and annotations")
    copier.copy_loose_assets()
    while True:
        count, after_id = copier.copy_chunk(after_id)
        if not count:
            break
        done += count
        report_progress(job, done=min(done, total), total=total)
    logger.info(
        "copied %d tasks and %d files from project %s to %s", done, copier.copy_file.copied, source.pk, target.pk
    )
