"""Read paths of exports: the frames in scope with their shapes, streamed in chunks.

Frames come from one ``.iterator()`` query; the annotations of each chunk of frames from
one more query (tracks once per task), so memory holds one chunk at a time whatever the
size of the project.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from django.db.models import Count, QuerySet

from annotations.models import Annotation
from exports.formats.base import ExportContext, ExportFrame, ExportLabel, safe_name
from exports.frame_images import ORIGINAL_IMAGE_EXTS, FrameDecoder, image_ext_for, read_stored
from exports.models import Export, Import
from exports.scope import split_for_task
from exports.shapes import UnreadableShape, shape_from_annotation, track_shapes
from media.models import Asset, Frame
from projects.models import LabelClass, Project
from tasks.models import Task

CHUNK = 500


def exports_for_project(project: Project) -> QuerySet[Export]:
    return Export.objects.for_organization(project.organization_id).filter(project=project)


def imports_for_project(project: Project) -> QuerySet[Import]:
    return Import.objects.for_organization(project.organization_id).filter(project=project)


def export_labels(project: Project) -> list[ExportLabel]:
    """The project's label classes, bottom to top (z-order, then id)."""
    return [
        ExportLabel(
            id=label.pk,
            name=label.name,
            color=label.color,
            maskid=label.maskid,
            z_order=label.z_order,
            category=label.category,
            keypoints=label.keypoints or {},
        )
        for label in LabelClass.objects.filter(project=project).order_by("z_order", "id")
    ]


def frames_in_scope(project: Project, scope: dict) -> QuerySet[Frame]:
    """Frames of the project in scope, in task order then frame order."""
    frames = Frame.objects.for_organization(project.organization_id).filter(task__project=project)
    if scope.get("batch_id"):
        frames = frames.filter(task__batch_id=scope["batch_id"])
    if scope.get("statuses"):
        frames = frames.filter(task__status__in=scope["statuses"])
    if scope.get("task_ids"):
        frames = frames.filter(task_id__in=scope["task_ids"])
    if scope.get("frame_start"):
        frames = frames.filter(index__gte=scope["frame_start"] - 1)
    if scope.get("frame_end"):
        frames = frames.filter(index__lte=scope["frame_end"] - 1)
    if scope.get("task_id") and scope.get("frame"):
        frames = frames.filter(task_id=scope["task_id"], index=scope["frame"] - 1)
    return frames.order_by("task_id", "index")


def _duplicate_names(project: Project) -> set[str]:
    """Media names used more than once in the project (their frames get ``_t<task id>``):
    uploaded file names, and task names (a DICOM series is named by its task)."""
    assets = (
        Asset.objects.filter(project=project)
        .values("original_name")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("original_name", flat=True)
    )
    tasks = (
        Task.objects.filter(project=project, assets__kind="dicom")
        .values("name")
        .annotate(n=Count("id", distinct=True))
        .filter(n__gt=1)
        .values_list("name", flat=True)
    )
    return set(assets) | {f"task:{name}" for name in tasks}


def _chunks(iterator, size: int):
    while True:
        chunk = list(islice(iterator, size))
        if not chunk:
            return
        yield chunk


def iter_export_frames(project: Project, scope: dict, ctx: ExportContext) -> Iterator[ExportFrame]:
    """Every frame in scope with its shapes (tracks expanded per frame), lazily."""
    labels = ctx.label_by_id()
    duplicates = _duplicate_names(project)
    decoder = FrameDecoder()
    sources = scope.get("sources") or []
    query = frames_in_scope(project, scope).select_related("task", "asset")
    tracks_task: int | None = None
    tracks: list[Annotation] = []
    try:
        for chunk in _chunks(query.iterator(chunk_size=CHUNK), CHUNK):
            task_ids = sorted({f.task_id for f in chunk})
            indexes = [f.index for f in chunk]
            per_frame: dict[tuple[int, int], list[Annotation]] = defaultdict(list)
            rows = (
                Annotation.objects.filter(
                    task_id__in=task_ids,
                    source__in=sources,
                    frame_index__gte=min(indexes),
                    frame_index__lte=max(indexes),
                )
                .exclude(type="video_track")
                .order_by("task_id", "frame_index", "id")
            )
            for annotation in rows.iterator(chunk_size=2000):
                per_frame[(annotation.task_id, annotation.frame_index)].append(annotation)
            frame_counts = dict(
                Frame.objects.filter(task_id__in=task_ids)
                .values("task_id")
                .annotate(n=Count("id"))
                .values_list("task_id", "n")
            )
            tags = _tags(task_ids) if (scope.get("split") or {}).get("mode") == "tag" else {}
            wanted = {(f.task_id, f.index) for f in chunk}
            track_shapes_by_frame: dict[tuple[int, int], list] = defaultdict(list)
            # Tracks (keyframes only) once per task; the last task may go on in the next chunk.
            track_rows: dict[int, list[Annotation]] = defaultdict(list)
            fresh = [t for t in task_ids if t != tracks_task]
            for annotation in Annotation.objects.filter(
                task_id__in=fresh, type="video_track", source__in=sources
            ).order_by("id"):
                track_rows[annotation.task_id].append(annotation)
            if tracks_task in task_ids:
                track_rows[tracks_task] = tracks
            tracks_task, tracks = task_ids[-1], track_rows[task_ids[-1]]
            for task_id in task_ids:
                sample = next(f for f in chunk if f.task_id == task_id)
                for annotation in track_rows.get(task_id, ()):
                    label = labels.get(annotation.label_id)
                    try:
                        for index, shape in track_shapes(
                            annotation, label, sample.width, sample.height, frame_counts.get(task_id, 0)
                        ):
                            if (task_id, index) in wanted:
                                track_shapes_by_frame[(task_id, index)].append(shape)
                    except (UnreadableShape, KeyError, TypeError, ValueError):
                        ctx.skip("unreadable geometry")
            for frame in chunk:
                split = split_for_task(scope.get("split"), frame.task_id, tags.get(frame.task_id, set()))
                if split is None:
                    continue
                item = _export_frame(frame, duplicates, decoder, frame_counts.get(frame.task_id, 1), split)
                for annotation in per_frame.get((frame.task_id, frame.index), ()):
                    try:
                        shape = shape_from_annotation(
                            annotation, labels.get(annotation.label_id), item.width, item.height
                        )
                    except (UnreadableShape, KeyError, TypeError, ValueError):
                        shape = None
                        ctx.skip("unreadable geometry")
                    if shape is not None:
                        item.shapes.append(shape)
                item.shapes.extend(track_shapes_by_frame.get((frame.task_id, frame.index), ()))
                if scope.get("annotated_only") and not item.shapes:
                    continue
                yield item
    finally:
        decoder.close()


def _tags(task_ids: list[int]) -> dict[int, set[str]]:
    from tasks.models import Task

    out: dict[int, set[str]] = defaultdict(set)
    for task_id, name in Task.tags.through.objects.filter(task_id__in=task_ids).values_list("task_id", "tag__name"):
        out[task_id].add(name.lower())
    return out


def _export_frame(frame: Frame, duplicates: set[str], decoder: FrameDecoder, frame_count: int, split: str):
    asset = frame.asset
    task = frame.task
    original = asset.original_name or Path(asset.file).name
    single_image = asset.kind == "image"
    if asset.kind == "dicom":  # a series of files: named by its task, not by one slice's file
        original = f"task:{task.name}"
        media_stem = safe_name(task.name, f"task{task.pk}")
    else:
        media_stem = safe_name(Path(original).stem if original else task.name, f"task{task.pk}")
    if single_image:
        stem = media_stem if original not in duplicates else f"{media_stem}_t{task.pk}"
    else:
        stem = f"{media_stem}_frame{frame.index + 1:06d}"
        if original in duplicates:
            stem = f"{media_stem}_t{task.pk}_frame{frame.index + 1:06d}"
    ext = image_ext_for(asset)
    pts = frame.pts_ms
    if pts is None and not single_image:
        fps = (asset.metadata or {}).get("fps")
        pts = frame.index * 1000.0 / float(fps) if fps else None
    path = asset.file
    keep_original = single_image and Path(original).suffix.lower() in ORIGINAL_IMAGE_EXTS
    return ExportFrame(
        task_id=task.pk,
        task_name=task.name,
        index=frame.index,
        width=frame.width,
        height=frame.height,
        stem=stem,
        image_ext=ext,
        source_name=original,
        video_name=media_stem if original not in duplicates else f"{media_stem}_t{task.pk}",
        pts_ms=pts,
        split=split,
        frame_count=frame_count,
        load_rgb=decoder.loader(frame),
        load_original=(lambda: read_stored(path)) if keep_original else None,
    )


def count_frames(project: Project, scope: dict) -> int:
    return frames_in_scope(project, scope).count()
