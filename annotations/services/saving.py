"""Writing shapes into a task's annotation set: the annotator's save (submit or draft), the
service other apps call (:func:`write_annotations`: importers, SAM propagation), clearing a
propagation chain, and restoring an old revision."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404

from annotations.models import Annotation, AnnotationRevision, Prediction, Source
from annotations.services.revisions import LockRule, TaskEdit, commit_revision, edit_task, revision_state
from annotations.shapes import CleanShape, ShapeContext, validate_shapes
from annotator.api.errors import Conflict
from audit.services import record_event
from jobs.models import Job
from projects.kinds import AnnotationType
from projects.models import LabelClass
from tasks.models import Task, TaskStatus
from tasks.services.lifecycle import transition_task
from tasks.services.locks import end_lock


@dataclass
class WriteResult:
    task: Task
    revision: AnnotationRevision | None
    annotations: list[Annotation] = field(default_factory=list)  # created or updated, in shape order


def _user(actor: Any):
    return actor if getattr(actor, "is_authenticated", False) else None


def apply_shapes(
    edit: TaskEdit,
    shapes: list[CleanShape],
    *,
    source: str,
    author: Any = None,
    replace: bool,
    produced_by: Job | None = None,
    object_id: str = "",
    prediction: Prediction | None = None,
) -> list[Annotation]:
    """Create or update (shapes with ``id``) annotations; with ``replace`` delete the ones not
    listed. Relation ends are resolved to annotation ids. Returns them in shape order."""
    task = edit.task
    current = {a.pk: a for a in Annotation.objects.filter(task=task)}
    by_index: dict[int, Annotation] = {}
    created: list[Annotation] = []
    updated: list[Annotation] = []
    for shape in shapes:
        if shape.id is not None:
            annotation = current[shape.id]
            if _update(annotation, shape):
                updated.append(annotation)
        else:
            own_source = shape.source if (shape.source and source == Source.MANUAL) else source
            annotation = Annotation(
                task=task,
                project_id=task.project_id,
                label=shape.label,
                type=shape.type,
                frame_index=shape.frame_index,
                geometry=shape.geometry,
                attributes=shape.attributes,
                source=own_source,
                author=_user(author),
                object_id=shape.object_id if shape.object_id is not None else object_id,
                produced_by=produced_by,
                prediction=prediction,
                prediction_shape_index=None,
                score=shape.score if own_source != Source.MANUAL else None,
                model_version=prediction.model_version if prediction is not None else shape.model_version,
            )
            annotation.inherit_organization(task)
            created.append(annotation)
        by_index[shape.index] = annotation
    if replace:
        keep = {shape.id for shape in shapes if shape.id is not None}
        Annotation.objects.filter(task=task).exclude(pk__in=keep).delete()
    Annotation.objects.bulk_create(created)
    relations = [shape for shape in shapes if shape.type == AnnotationType.RELATION]
    for shape in relations:
        annotation = by_index[shape.index]
        ends = {end: (by_index[value].pk if how == "index" else value) for end, (how, value) in shape.relation.items()}
        annotation.geometry = {**annotation.geometry, **ends}
        if annotation not in created and annotation not in updated:
            updated.append(annotation)
    for annotation in updated:
        annotation.save()
    if relations:  # relations created above were saved before their ends were known
        Annotation.objects.bulk_update([by_index[s.index] for s in relations], ["geometry"])
    return [by_index[shape.index] for shape in shapes]


def _update(annotation: Annotation, shape: CleanShape) -> bool:
    """Apply a shape to an existing annotation; True when something changed."""
    values = {
        "type": shape.type,
        "label_id": shape.label.pk if shape.label is not None else None,
        "frame_index": shape.frame_index,
        "geometry": shape.geometry,
        "attributes": shape.attributes,
    }
    if shape.object_id is not None:
        values["object_id"] = shape.object_id
    if shape.type == AnnotationType.RELATION:  # ends are resolved after every shape exists
        ends = {end: annotation.geometry.get(end) for end in ("from", "to")}
        values["geometry"] = {**shape.geometry, **ends}
    changed = {k: v for k, v in values.items() if getattr(annotation, k) != v}
    if not changed:
        return False
    if "geometry" in changed and annotation.source == Source.PROPAGATED:
        # A hand-corrected propagated shape leaves its chain: clearing the chain keeps it.
        changed.update(source=Source.MANUAL, produced_by_id=None)
    elif "geometry" in changed and annotation.source == Source.AI_ACCEPTED and annotation.prediction_id is None:
        # An accepted SAM mask reshaped by hand is the annotator's work from then on.
        changed.update(source=Source.MANUAL)
    for key, value in changed.items():
        setattr(annotation, key, value)
    return True


def save_annotations(task: Task, shapes: Any, *, actor: Any, revision: int | None = None, submit: bool) -> WriteResult:
    """The annotator's save: ``shapes`` become the task's whole annotation set (shapes with an
    ``id`` update that annotation, the others are created, annotations not listed are deleted).

    Needs the caller's live lock (423) and, when given, the current ``revision`` (409).
    ``submit``: a new revision is always written, the task moves to ``submitted`` (the
    project's workflow may carry it on to ``completed``) and its lock is released. A draft
    changes neither the status nor the lock (a claimed task is already ``in_progress``); a
    draft that changes nothing writes no revision.
    """
    with edit_task(task, actor=actor, revision=revision, lock="holder") as edit:
        clean = validate_shapes(shapes, ShapeContext(edit.task), replace=True)
        annotations = apply_shapes(edit, clean, source=Source.MANUAL, author=actor, replace=True)
        saved = commit_revision(edit, "submit" if submit else "draft", force=submit)
        task = edit.task
        if submit:
            if task.status in (TaskStatus.CREATED, TaskStatus.ASSIGNED):  # locked but never started
                transition_task(task, TaskStatus.IN_PROGRESS, actor=actor, reason="annotations submitted")
            transition_task(task, TaskStatus.SUBMITTED, actor=actor, reason="annotations submitted")
            # The move ends the lock; a reviewer's fix of a submitted task (no move) releases it here.
            released = end_lock(task, reason="released")
            if released:
                task.save(update_fields=[*released, "updated_at"])
        if saved is not None or submit:
            record_event(
                actor=actor,
                organization=task.organization_id,
                action="annotation.submitted" if submit else "annotation.draft_saved",
                target=task,
                after={"revision": task.annotation_revision, **(saved.summary if saved else {})},
            )
        return WriteResult(task=task, revision=saved, annotations=annotations)


def write_annotations(
    task: Task | int,
    shapes: list[dict],
    *,
    source: str,
    actor: Any = None,
    produced_by: Job | None = None,
    object_id: str = "",
    action: str = "import",
    replace: bool = False,
    map_aliases: bool = True,
    revision: int | None = None,
) -> WriteResult:
    """Add ``shapes`` to a task's annotation set (the service for importers, SAM propagation,
    auto-annotation): validated like the API's shapes, one transaction, one new revision.

    ``source``: ``imported``, ``propagated``, ``ai``, ... — recorded on every annotation.
    ``produced_by``: the job that wrote them (a propagation chain; see :func:`clear_chain`).
    ``object_id``: identity across frames for shapes that do not carry their own.
    ``replace``: delete the task's other annotations first (an import that overwrites).
    ``map_aliases``: class names may be a label's alias. No lock is needed (jobs hold none);
    raises ``annotations.shapes.ShapesInvalid`` (a Django ValidationError, errors keyed
    ``shapes.<index>.<field>``) and writes nothing when any shape is bad.
    """
    if source not in Source.values:
        raise ValueError(f"unknown source {source!r} (one of {', '.join(Source.values)})")
    with edit_task(task, actor=actor, revision=revision, lock="none") as edit:
        clean = validate_shapes(shapes, ShapeContext(edit.task, map_aliases=map_aliases), replace=replace)
        annotations = apply_shapes(
            edit,
            clean,
            source=source,
            author=actor,
            replace=replace,
            produced_by=produced_by,
            object_id=object_id,
        )
        job_id = produced_by.pk if produced_by else None
        saved = commit_revision(edit, action, extra={"source": source, "job_id": job_id})
        record_event(
            actor=actor,
            organization=edit.task.organization_id,
            action=f"annotation.{action}",
            target=edit.task,
            after={"revision": edit.task.annotation_revision, "source": source, "count": len(annotations)},
        )
        return WriteResult(task=edit.task, revision=saved, annotations=annotations)


def delete_annotations(
    task: Task | int,
    annotation_ids: list[int],
    *,
    actor: Any,
    revision: int | None = None,
    lock: LockRule = "holder",
    action: str = "delete",
) -> WriteResult:
    """Delete some of a task's annotations as one new revision (relations to them go too).

    ``lock`` as in ``edit_task`` (``not_other`` for faces without claims, e.g. Cytomine).
    Ids that are not this task's annotations are refused (400 naming them).
    """
    with edit_task(task, actor=actor, revision=revision, lock=lock) as edit:
        found = set(Annotation.objects.filter(task=edit.task, pk__in=annotation_ids).values_list("pk", flat=True))
        missing = sorted(set(annotation_ids) - found)
        if missing:
            raise ValidationError({"annotation_ids": [f"no annotation {missing[0]} on task {edit.task.pk}."]})
        Annotation.objects.filter(pk__in=found).delete()
        saved = commit_revision(edit, action)
        record_event(
            actor=actor,
            organization=edit.task.organization_id,
            action=f"annotation.{action}",
            target=edit.task,
            after={"deleted": sorted(found), "revision": edit.task.annotation_revision},
        )
        return WriteResult(task=edit.task, revision=saved, annotations=[])


def clear_chain(task: Task | int, job: Job, *, actor: Any = None) -> int:
    """Delete the annotations propagated by ``job`` on ``task`` (its chain) and nothing else:
    manual, imported and independent AI annotations stay, and so do propagated shapes a
    person has corrected since (they left the chain). Returns how many were deleted."""
    with edit_task(task, actor=actor, lock="none") as edit:
        count, _ = Annotation.objects.filter(task=edit.task, produced_by=job, source=Source.PROPAGATED).delete()
        if count:
            commit_revision(edit, "clear_chain", extra={"job_id": job.pk})
            record_event(
                actor=actor,
                organization=edit.task.organization_id,
                action="annotation.chain_cleared",
                target=edit.task,
                after={"job_id": job.pk, "deleted": count, "revision": edit.task.annotation_revision},
            )
        return count


def restore_revision(task: Task, number: int, *, actor: Any, revision: int | None = None) -> WriteResult:
    """Make revision ``number``'s annotation set the current one again (a new revision).

    Annotations deleted since come back with their old ids (relations and comments keep
    pointing at them); later ones are deleted. Refused (409) while someone else holds the
    task's lock, or when a class the old set used has been deleted since.
    """
    with edit_task(task, actor=actor, revision=revision, lock="not_other") as edit:
        snapshot = revision_state(edit.task, number)
        if snapshot is None:
            raise Http404(f"Task {edit.task.pk} has no revision {number} (it is at {edit.task.annotation_revision}).")
        labels = set(LabelClass.objects.filter(project_id=edit.task.project_id).values_list("pk", flat=True))
        missing = sorted({i["class_name"] for i in snapshot if i["label_id"] and i["label_id"] not in labels})
        if missing:
            raise Conflict(
                f"Revision {number} uses classes deleted since ({', '.join(missing)}); recreate them to restore it.",
                code="labels_missing",
                missing_classes=missing,
            )
        _restore(edit, snapshot)
        saved = commit_revision(edit, "restore", force=True, extra={"restored_from": number})
        record_event(
            actor=actor,
            organization=edit.task.organization_id,
            action="annotation.revision_restored",
            target=edit.task,
            after={"restored_from": number, "revision": edit.task.annotation_revision},
        )
        return WriteResult(task=edit.task, revision=saved, annotations=list(edit.task.annotations.all()))


def _restore(edit: TaskEdit, snapshot: list[dict]) -> None:
    task = edit.task
    wanted = {item["id"]: item for item in snapshot}
    Annotation.objects.filter(task=task).exclude(pk__in=wanted).delete()
    current = {a.pk: a for a in Annotation.objects.filter(task=task)}

    def existing(model, key: str) -> set[int]:
        wanted_ids = {item[key] for item in snapshot if item[key] is not None}
        return set(model.objects.filter(pk__in=wanted_ids).values_list("pk", flat=True))

    users = existing(get_user_model(), "author_id")
    jobs = existing(Job, "produced_by_id")
    predictions = existing(Prediction, "prediction_id")
    created = []
    for pk, item in wanted.items():
        annotation = current.get(pk) or Annotation(pk=pk, task=task, project_id=task.project_id)
        annotation.inherit_organization(task)
        annotation.type = item["type"]
        annotation.label_id = item["label_id"]
        annotation.frame_index = item["frame_index"]
        annotation.geometry = item["geometry"]
        annotation.attributes = item["attributes"]
        annotation.source = item["source"]
        annotation.object_id = item["object_id"]
        annotation.author_id = item["author_id"] if item["author_id"] in users else None
        annotation.produced_by_id = item["produced_by_id"] if item["produced_by_id"] in jobs else None
        annotation.prediction_id = item["prediction_id"] if item["prediction_id"] in predictions else None
        annotation.prediction_shape_index = item["prediction_shape_index"]
        annotation.score = item["score"]
        annotation.model_version = item["model_version"]
        if pk in current:
            annotation.save()
        else:
            created.append(annotation)
    Annotation.objects.bulk_create(created)
