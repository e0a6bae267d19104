"""Every change to a task's annotation set goes through :func:`edit_task` and
:func:`commit_revision`: one transaction holding the task row (``select_for_update``), the
lock and revision checks, and a new :class:`AnnotationRevision` with what changed. Every
``CHECKPOINT_EVERY``-th revision (and any whose change is most of the set) stores the whole
set; the others store only what changed, and :func:`revision_state` rebuilds any revision
from the checkpoint before it. Two editors saving from the same revision: the second waits for
the first's row lock, then sees a newer revision and gets 409 — nothing is overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from django.db import transaction

from annotations.models import Annotation, AnnotationRevision
from annotator.api.errors import Conflict
from projects.kinds import AnnotationType
from tasks.models import Task
from tasks.services.locks import refuse_if_locked_by_other, require_lock

LockRule = Literal["holder", "not_other", "none"]
CHECKPOINT_EVERY = 20
# What makes two versions of an annotation different (ids of authors/jobs are provenance).
CONTENT_KEYS = ("type", "label_id", "frame_index", "geometry", "attributes", "object_id", "source")


def snapshot_of(annotation: Annotation) -> dict[str, Any]:
    """An annotation as a revision snapshot stores it (enough to restore it exactly)."""
    return {
        "id": annotation.pk,
        "type": annotation.type,
        "class_name": annotation.label.name if annotation.label_id else "",
        "label_id": annotation.label_id,
        "frame_index": annotation.frame_index,
        "geometry": annotation.geometry,
        "attributes": annotation.attributes,
        "source": annotation.source,
        "object_id": annotation.object_id,
        "author_id": annotation.author_id,
        "produced_by_id": annotation.produced_by_id,
        "prediction_id": annotation.prediction_id,
        "prediction_shape_index": annotation.prediction_shape_index,
        "score": annotation.score,
        "model_version": annotation.model_version,
    }


def task_snapshot(task: Task) -> list[dict[str, Any]]:
    return [snapshot_of(a) for a in Annotation.objects.filter(task=task).select_related("label").order_by("id")]


def diff_snapshots(before: list[dict], after: list[dict]) -> dict[str, list[int]]:
    """Ids added, removed and changed (content, not provenance) between two snapshots."""
    old = {item["id"]: item for item in before}
    new = {item["id"]: item for item in after}
    return {
        "added": sorted(set(new) - set(old)),
        "removed": sorted(set(old) - set(new)),
        "changed": sorted(pk for pk in set(old) & set(new) if any(old[pk][k] != new[pk][k] for k in CONTENT_KEYS)),
    }


@dataclass
class TaskEdit:
    """An open edit of one task's annotation set (inside ``edit_task``)."""

    task: Task
    actor: Any
    before: list[dict]


def _user(actor: Any):
    return actor if getattr(actor, "is_authenticated", False) else None


@contextmanager
def edit_task(
    task: Task | int, *, actor: Any, revision: int | None = None, lock: LockRule = "holder"
) -> Iterator[TaskEdit]:
    """Open a transaction holding ``task``'s row, check the lock and the base revision.

    ``lock``: ``holder`` — the actor must hold the task's live lock (423 otherwise);
    ``not_other`` — refused only while someone else holds a live lock (managers restoring);
    ``none`` — background jobs and importers (they hold no lock; the revision bump makes a
    concurrent editor's stale save fail with 409 instead of overwriting).
    ``revision``: the revision the caller's edit is based on; a different current revision
    is 409 with ``current_revision``. None skips the check.
    """
    pk = task if isinstance(task, int) else task.pk
    with transaction.atomic():
        locked = Task.objects.select_for_update(of=("self",)).select_related("project", "locked_by").get(pk=pk)
        if lock == "holder":
            require_lock(locked, actor)
        elif lock == "not_other":
            refuse_if_locked_by_other(locked, actor)
        if revision is not None and revision != locked.annotation_revision:
            raise Conflict(
                f"The annotations of task {locked.pk} changed since revision {revision} (now "
                f"{locked.annotation_revision}); reload them and apply your edit again.",
                code="stale_revision",
                current_revision=locked.annotation_revision,
            )
        yield TaskEdit(task=locked, actor=actor, before=task_snapshot(locked))


def drop_dangling_relations(task: Task) -> int:
    """Delete relations whose end was deleted (a relation never points at nothing)."""
    ids = set(Annotation.objects.filter(task=task).values_list("pk", flat=True))
    relations = Annotation.objects.filter(task=task, type=AnnotationType.RELATION).values_list("pk", "geometry")
    dangling = [pk for pk, g in relations if g.get("from") not in ids or g.get("to") not in ids]
    if dangling:
        Annotation.objects.filter(pk__in=dangling).delete()
    return len(dangling)


def commit_revision(
    edit: TaskEdit, action: str, *, force: bool = False, extra: dict | None = None
) -> AnnotationRevision | None:
    """Record the edit as the task's next revision (None when nothing changed and not ``force``).
    Relations left without an end by the edit are deleted with it."""
    drop_dangling_relations(edit.task)
    after = task_snapshot(edit.task)
    summary = diff_snapshots(edit.before, after)
    if not force and not any(summary.values()):
        return None
    task = edit.task
    task.annotation_revision += 1
    task.save(update_fields=["annotation_revision", "updated_at"])
    before = {item["id"]: item for item in edit.before}
    upsert = [item for item in after if before.get(item["id"]) != item]
    removed = sorted(set(before) - {item["id"] for item in after})
    checkpoint = task.annotation_revision % CHECKPOINT_EVERY == 1 or 2 * (len(upsert) + len(removed)) >= len(after)
    return AnnotationRevision.objects.create(
        organization_id=task.organization_id,
        task=task,
        number=task.annotation_revision,
        action=action,
        author=_user(edit.actor),
        summary={**summary, **(extra or {})},
        is_checkpoint=checkpoint,
        snapshot=after if checkpoint else [],
        delta=None if checkpoint else {"upsert": upsert, "removed": removed},
    )


def revision_states(task: Task | int, numbers: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """The whole annotation set at each of ``numbers`` (those that exist), in two queries: one
    walk forward from the checkpoint at or before the smallest (a history page's snapshots)."""
    task_id = task if isinstance(task, int) else task.pk
    wanted = set(numbers)
    if not wanted:
        return {}
    base = (
        AnnotationRevision.objects.filter(task_id=task_id, number__lte=min(wanted), is_checkpoint=True)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    if base is None:
        return {}
    rows = AnnotationRevision.objects.filter(task_id=task_id, number__gte=base, number__lte=max(wanted))
    states: dict[int, list[dict[str, Any]]] = {}
    state: dict[int, dict[str, Any]] = {}
    for number, is_checkpoint, snapshot, delta in rows.order_by("number").values_list(
        "number", "is_checkpoint", "snapshot", "delta"
    ):
        if is_checkpoint:
            state = {item["id"]: item for item in snapshot}
        else:
            for pk in delta["removed"]:
                state.pop(pk, None)
            for item in delta["upsert"]:
                state[item["id"]] = item
        if number in wanted:
            states[number] = sorted(state.values(), key=lambda item: item["id"])
    return states


def revision_state(task: Task | int, number: int) -> list[dict[str, Any]] | None:
    """The whole annotation set at revision ``number`` (None when there is no such revision):
    the checkpoint at or before it, with the later revisions' changes applied in order."""
    task_id = task if isinstance(task, int) else task.pk
    base = (
        AnnotationRevision.objects.filter(task_id=task_id, number__lte=number, is_checkpoint=True)
        .order_by("-number")
        .first()
    )
    if base is None or not AnnotationRevision.objects.filter(task_id=task_id, number=number).exists():
        return None
    state = {item["id"]: item for item in base.snapshot}
    steps = AnnotationRevision.objects.filter(task_id=task_id, number__gt=base.number, number__lte=number)
    for delta in steps.order_by("number").values_list("delta", flat=True):
        for pk in delta["removed"]:
            state.pop(pk, None)
        for item in delta["upsert"]:
            state[item["id"]] = item
    return sorted(state.values(), key=lambda item: item["id"])
