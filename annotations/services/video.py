"""Video track conversions and compositions (the task-platform contract, v0.9.20 / v0.9.37).

Each operation is one transaction on the task row, revision-checked, lock-checked, recorded
as a revision and audited. Every refusal is a 400 that names the conflict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404

from annotations import tracks
from annotations.models import Annotation, AnnotationRevision
from annotations.services.revisions import TaskEdit, commit_revision, edit_task
from audit.services import record_event
from projects.kinds import AnnotationType
from tasks.models import Task

T = AnnotationType
MAX_CONVERTED = 20_000  # boxes one conversion may create


@dataclass
class Converted:
    task: Task
    revision: AnnotationRevision | None
    source_annotation: Annotation
    created_annotations: list[Annotation]
    deleted_source: bool
    removed_frame_indexes: list[int]


@dataclass
class Composed:
    task: Task
    revision: AnnotationRevision | None
    updated_annotations: list[Annotation] = field(default_factory=list)
    created_annotations: list[Annotation] = field(default_factory=list)
    deleted_annotation_ids: list[int] = field(default_factory=list)


def refuse(field_name: str, message: str) -> ValidationError:
    return ValidationError({field_name: [message]})


def _track_name(annotation: Annotation) -> str:
    return f"track {annotation.pk} ({annotation.object_id or annotation.geometry.get('track_id')})"


def _require_type(edit: TaskEdit, kind: str, field_name: str) -> None:
    allowed = edit.task.project.kind_info.annotation_types
    if kind not in allowed:
        raise refuse(field_name, f"a {edit.task.project.kind_info.title} project does not take {kind} annotations.")


def _new_annotation(task: Task, like: Annotation, *, kind: str, geometry: dict, frame_index, object_id, actor):
    annotation = Annotation(
        task=task,
        project_id=task.project_id,
        label_id=like.label_id,
        type=kind,
        frame_index=frame_index,
        geometry=geometry,
        attributes=dict(like.attributes or {}),
        source=like.source,
        author=actor if getattr(actor, "is_authenticated", False) else None,
        object_id=object_id,
    )
    annotation.inherit_organization(task)
    return annotation


def convert_to_bboxes(
    task: Task,
    annotation_id: int,
    *,
    actor: Any,
    operation: str,
    scope: str,
    frame_index: int | None = None,
    frame_mode: str = "keyframes",
    revision: int | None = None,
) -> Converted:
    """Turn a ``video_track`` into independent ``video_bbox`` annotations.

    ``scope=frame``: the box at ``frame_index`` (interpolated if needed); ``scope=track``:
    one box per keyframe (``frame_mode=keyframes``) or per visible frame (``all_frames``,
    exactly what ``geometry.track_frames`` shows). ``copy`` leaves the track as it is;
    ``split`` takes the converted frames out of it: the one frame (the track keeps every
    other frame unchanged, and is deleted if nothing is left), or the whole track.
    The boxes keep the track's class, attributes and object identity (``object_id``).
    """
    with edit_task(task, actor=actor, revision=revision, lock="holder") as edit:
        source = Annotation.objects.select_related("label").filter(task=edit.task, pk=annotation_id).first()
        if source is None:
            raise Http404(f"No annotation {annotation_id} on task {edit.task.pk}.")
        if source.type != T.VIDEO_TRACK:
            raise refuse("annotation_id", f"annotation {source.pk} is a {source.type}, not a video_track.")
        _require_type(edit, T.VIDEO_BBOX, "operation")
        keyframes = source.geometry["keyframes"]
        frames = tracks.visible_frames(keyframes)
        if scope == "frame":
            if frame_index is None:
                raise refuse("frame_index", "frame_index is required when scope is frame.")
            if frame_index not in frames:
                first, last = tracks.visible_range(keyframes) or (None, None)
                raise refuse(
                    "frame_index",
                    f"{_track_name(source)} is not visible at frame {frame_index} (it shows frames "
                    f"{first}-{last}, except where absent).",
                )
            selected = [frame_index]
        elif frame_mode == "all_frames":
            selected = sorted(frames)
        else:
            selected = [kf["frame_index"] for kf in keyframes if not kf.get("absent") and kf["frame_index"] in frames]
        if len(selected) > MAX_CONVERTED:
            raise refuse("frame_mode", f"this would create {len(selected)} boxes; at most {MAX_CONVERTED} at once.")
        track_id = source.object_id or source.geometry.get("track_id", "")
        created = []
        for index in selected:
            frame = frames[index]
            geometry = {"type": T.VIDEO_BBOX, "frame_index": index, **frame["bbox"]}
            if frame.get("occluded"):
                geometry["occluded"] = True
            created.append(
                _new_annotation(
                    edit.task,
                    source,
                    kind=T.VIDEO_BBOX,
                    geometry=geometry,
                    frame_index=index,
                    object_id=track_id,
                    actor=actor,
                )
            )
        Annotation.objects.bulk_create(created)
        source_view = Annotation.objects.select_related("label", "author").get(pk=source.pk)
        deleted = False
        removed: list[int] = []
        if operation == "split":
            removed = selected
            remaining = tracks.remove_frames(keyframes, selected) if scope == "frame" else []
            if remaining:
                source.geometry = {**source.geometry, "keyframes": remaining}
                source.save(update_fields=["geometry", "updated_at"])
                source_view.geometry = source.geometry
            else:
                source.delete()
                deleted = True
        saved = commit_revision(edit, "convert", extra={"operation": operation, "source_id": annotation_id})
        record_event(
            actor=actor,
            organization=edit.task.organization_id,
            action="annotation.track_converted",
            target=edit.task,
            after={
                "annotation_id": annotation_id,
                "operation": operation,
                "scope": scope,
                "frame_mode": frame_mode,
                "created": [a.pk for a in created],
                "removed_frame_indexes": removed,
                "deleted_source": deleted,
                "revision": edit.task.annotation_revision,
            },
        )
        return Converted(edit.task, saved, source_view, created, deleted, removed)


def _load(edit: TaskEdit, ids: list[int], field_name: str) -> list[Annotation]:
    """Annotations named in the body: another organization's (or unknown) ids are 404, another
    task's are refused naming it."""
    if len(set(ids)) != len(ids):
        raise refuse(field_name, "an annotation is listed twice.")
    found = {
        a.pk: a
        for a in Annotation.objects.for_organization(edit.task.organization_id)
        .select_related("label")
        .filter(pk__in=ids)
    }
    for pk in ids:
        if pk not in found:
            raise Http404(f"No annotation {pk}.")
        if found[pk].task_id != edit.task.pk:
            raise refuse(field_name, f"annotation {pk} belongs to task {found[pk].task_id}, not task {edit.task.pk}.")
    return [found[pk] for pk in ids]


def _same_class(annotations: list[Annotation], field_name: str) -> None:
    first = annotations[0]
    for other in annotations[1:]:
        if other.label_id != first.label_id:
            raise refuse(
                field_name,
                f"different classes: annotation {first.pk} is {_class(first)!r}, "
                f"annotation {other.pk} is {_class(other)!r}.",
            )


def _class(annotation: Annotation) -> str:
    return annotation.label.name if annotation.label_id else "(none)"


def _require_kind(annotations: list[Annotation], kind: str, field_name: str, operation: str) -> None:
    for annotation in annotations:
        if annotation.type != kind:
            raise refuse(
                field_name, f"annotation {annotation.pk} is a {annotation.type}; {operation} takes {kind} annotations."
            )


def compose_tracks(
    task: Task,
    *,
    actor: Any,
    operation: str,
    annotation_ids: list[int],
    frame_index: int | None = None,
    delete_sources: bool = False,
    revision: int | None = None,
) -> Composed:
    """``aggregate_bboxes`` (video_bbox annotations of one class, no two on one frame → one
    track; ``delete_sources`` removes the boxes), ``split_track`` (one track → the frames up to
    and including the visible ``frame_index``, and a new track with the frames after it) or
    ``merge_tracks`` (two tracks of one class whose visible ranges do not overlap → one; the
    gap between them is outside)."""
    with edit_task(task, actor=actor, revision=revision, lock="holder") as edit:
        annotations = _load(edit, annotation_ids, "annotation_ids")
        if operation == "aggregate_bboxes":
            result = _aggregate(edit, annotations, delete_sources, actor)
        elif operation == "split_track":
            result = _split(edit, annotations, frame_index, actor)
        else:
            result = _merge(edit, annotations)
        result.revision = commit_revision(edit, "compose", extra={"operation": operation})
        record_event(
            actor=actor,
            organization=edit.task.organization_id,
            action="annotation.tracks_composed",
            target=edit.task,
            after={
                "operation": operation,
                "annotation_ids": annotation_ids,
                "updated": [a.pk for a in result.updated_annotations],
                "created": [a.pk for a in result.created_annotations],
                "deleted": result.deleted_annotation_ids,
                "revision": edit.task.annotation_revision,
            },
        )
        return result


def _aggregate(edit: TaskEdit, boxes: list[Annotation], delete_sources: bool, actor) -> Composed:
    if not boxes:
        raise refuse("annotation_ids", "aggregate_bboxes needs at least one video_bbox.")
    _require_kind(boxes, T.VIDEO_BBOX, "annotation_ids", "aggregate_bboxes")
    _require_type(edit, T.VIDEO_TRACK, "operation")
    _same_class(boxes, "annotation_ids")
    on_frame: dict[int, int] = {}
    for box in boxes:
        index = box.geometry["frame_index"]
        if index in on_frame:
            raise refuse("annotation_ids", f"annotations {on_frame[index]} and {box.pk} are both on frame {index}.")
        on_frame[index] = box.pk
    keyframes = tracks.track_from_boxes(
        (
            box.geometry["frame_index"],
            {k: box.geometry[k] for k in tracks.BOX_KEYS},
            box.source if box.source in tracks.KEYFRAME_SOURCES else "manual",
            bool(box.geometry.get("occluded")),
        )
        for box in boxes
    )
    earliest = min(boxes, key=lambda b: b.geometry["frame_index"])
    shared = {box.object_id for box in boxes}
    taken = set(Annotation.objects.filter(task=edit.task, type=T.VIDEO_TRACK).values_list("object_id", flat=True))
    track_id = shared.pop() if len(shared) == 1 and "" not in shared else ""
    if not track_id or track_id in taken:
        track_id = tracks.new_track_id()
    track = _new_annotation(
        edit.task,
        earliest,
        kind=T.VIDEO_TRACK,
        geometry={"type": T.VIDEO_TRACK, "track_id": track_id, "keyframes": keyframes},
        frame_index=None,
        object_id=track_id,
        actor=actor,
    )
    track.source = "manual"
    track.save()
    deleted = []
    if delete_sources:
        deleted = sorted(box.pk for box in boxes)
        Annotation.objects.filter(pk__in=deleted).delete()
    return Composed(edit.task, None, [], [track], deleted)


def _one_track(annotations: list[Annotation], operation: str) -> Annotation:
    if len(annotations) != 1:
        raise refuse("annotation_ids", f"{operation} takes exactly one track, got {len(annotations)}.")
    _require_kind(annotations, T.VIDEO_TRACK, "annotation_ids", operation)
    return annotations[0]


def _split(edit: TaskEdit, annotations: list[Annotation], frame_index: int | None, actor) -> Composed:
    track = _one_track(annotations, "split_track")
    if frame_index is None:
        raise refuse("frame_index", "split_track needs frame_index (the last frame of the first part).")
    keyframes = track.geometry["keyframes"]
    frames = tracks.visible_frames(keyframes)
    if frame_index not in frames:
        raise refuse("frame_index", f"frame {frame_index} is not a visible frame of {_track_name(track)}.")
    if not any(index > frame_index for index in frames):
        raise refuse(
            "frame_index", f"{_track_name(track)} ends at frame {frame_index}; there is nothing after it to split off."
        )
    before, after = tracks.split_track(keyframes, frame_index)
    track.geometry = {**track.geometry, "keyframes": before}
    track.save(update_fields=["geometry", "updated_at"])
    track_id = tracks.new_track_id()
    new = _new_annotation(
        edit.task,
        track,
        kind=T.VIDEO_TRACK,
        geometry={"type": T.VIDEO_TRACK, "track_id": track_id, "keyframes": after},
        frame_index=None,
        object_id=track_id,
        actor=actor,
    )
    new.save()
    return Composed(edit.task, None, [track], [new], [])


def _merge(edit: TaskEdit, annotations: list[Annotation]) -> Composed:
    if len(annotations) != 2:
        raise refuse("annotation_ids", f"merge_tracks takes exactly two tracks, got {len(annotations)}.")
    _require_kind(annotations, T.VIDEO_TRACK, "annotation_ids", "merge_tracks")
    _same_class(annotations, "annotation_ids")
    ranges = [tracks.visible_range(a.geometry["keyframes"]) for a in annotations]
    first, second = sorted(zip(ranges, annotations, strict=True), key=lambda item: item[0][0])
    if second[0][0] <= first[0][1]:
        raise refuse(
            "annotation_ids",
            f"visible frames overlap: annotation {first[1].pk} shows {first[0][0]}-{first[0][1]}, "
            f"annotation {second[1].pk} shows {second[0][0]}-{second[0][1]}.",
        )
    keep, gone = first[1], second[1]
    merged = tracks.merge_tracks(keep.geometry["keyframes"], gone.geometry["keyframes"])
    keep.geometry = {**keep.geometry, "keyframes": merged}
    keep.save(update_fields=["geometry", "updated_at"])
    gone_id = gone.pk
    gone.delete()
    return Composed(edit.task, None, [keep], [], [gone_id])
