"""SAM 2.1 propagation: masks on a reference frame → masks on the frames around it.

A run is a background job (``sam.propagation``) whose annotations are its *chain*: each has
``source="propagated"``, the object's ``object_id`` and ``produced_by=<the job>``. Clearing a
chain removes exactly those rows. Frames where the object already has a shape of its own
(manual, imported, accepted) are used as extra prompts and never overwritten.
"""

from __future__ import annotations

import logging
import time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from annotator.api.errors import Conflict
from audit.services import record_event
from jobs.models import FINISHED, Job, JobStatus
from jobs.services import create_job, fail_job, finish_job, is_cancel_requested, report_progress, start_job
from ml import annotation_sink
from ml.frame_source import frame_run, frames_of
from ml.models import Direction, PropagationRun
from ml.services.sam import require_sam
from tasks.models import Task
from tasks.services.locks import lock_is_live, require_lock

logger = logging.getLogger(__name__)

JOB_KIND = "sam.propagation"


def resolve_range(
    direction: str, reference_frame: int, frame_total: int, start_frame: int | None, end_frame: int | None
) -> tuple[int, int]:
    """The frames a run covers, from its direction and optional bounds (400 when impossible)."""
    last = frame_total - 1
    if not 0 <= reference_frame <= last:
        raise ValidationError({"reference_frame": [f"The task has frames 0..{last}; {reference_frame} is not one."]})
    for name, value in (("start_frame", start_frame), ("end_frame", end_frame)):
        if value is not None and not 0 <= value <= last:
            raise ValidationError({name: [f"The task has frames 0..{last}; {value} is not one."]})
    if direction == Direction.FORWARD:
        start, end = reference_frame, last if end_frame is None else end_frame
    elif direction == Direction.BACKWARD:
        start, end = 0 if start_frame is None else start_frame, reference_frame
    else:
        if start_frame is None or end_frame is None:
            raise ValidationError({"start_frame": ["A range needs start_frame and end_frame."]})
        start, end = start_frame, end_frame
    if not start <= reference_frame <= end:
        raise ValidationError(
            {"reference_frame": [f"The reference frame must lie within the covered frames {start}..{end}."]}
        )
    if start == end:
        raise ValidationError({"direction": ["Nothing to propagate: the range holds only the reference frame."]})
    return start, end


@transaction.atomic
def start_propagation(
    *,
    actor,
    task: Task,
    reference_frame: int,
    object_ids: list[str],
    direction: str = Direction.FORWARD,
    start_frame: int | None = None,
    end_frame: int | None = None,
    replace_previous: bool = True,
) -> PropagationRun:
    """Check the request, record the run and queue it on the ``ml`` queue.

    ``replace_previous``: earlier chains of this task that propagated one of these objects
    are cleared when the run starts (propagating an object again replaces its old chain).
    """
    require_sam()
    if lock_is_live(task) and task.locked_by_id != actor.pk:
        require_lock(task, actor)  # 423 naming who holds the task
    frames = frames_of(task)
    if len(frames) < 2:
        raise ValidationError({"task_id": [f"Task {task.pk} has {len(frames)} frame(s); propagation needs several."]})
    start, end = resolve_range(direction, reference_frame, len(frames), start_frame, end_frame)
    object_ids = list(dict.fromkeys(str(o) for o in object_ids))
    if not object_ids:
        raise ValidationError({"object_ids": ["Name at least one object to propagate."]})
    reference = frames[reference_frame]
    masks = annotation_sink.object_masks(task, reference_frame, reference.height, reference.width)
    missing = [o for o in object_ids if o not in masks]
    if missing:
        raise ValidationError(
            {
                "object_ids": [
                    f"Frame {reference_frame} has no mask for object {', '.join(missing)}: draw or accept a "
                    "mask (or polygon) with that object id on the reference frame first."
                ]
            }
        )
    unlabeled = [o for o in object_ids if masks[o][1].label_id is None]
    if unlabeled:
        message = f"Give object {', '.join(unlabeled)} a class on frame {reference_frame}."
        raise ValidationError({"object_ids": [message]})
    for other in PropagationRun.objects.filter(task=task).exclude(job__status__in=FINISHED):
        shared = sorted(set(other.object_ids) & set(object_ids))
        if shared:
            raise Conflict(
                f"Propagation {other.pk} is still working on object {', '.join(shared)} of this task; "
                f"wait for it or cancel its job ({other.job_id}).",
                code="propagation_running",
            )
    job = create_job(
        organization=task.organization_id,
        kind=JOB_KIND,
        created_by=actor,
        project=task.project,
        params={
            "task_id": task.pk,
            "reference_frame": reference_frame,
            "object_ids": object_ids,
            "replace_previous": replace_previous,
        },
        total=end - start,
    )
    run = PropagationRun.objects.create(
        organization_id=task.organization_id,
        task=task,
        project_id=task.project_id,
        job=job,
        reference_frame=reference_frame,
        direction=direction,
        start_frame=start,
        end_frame=end,
        object_ids=object_ids,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    record_event(
        actor=actor,
        organization=task.organization_id,
        action="sam.propagation_started",
        target=run,
        after={"task": task.pk, "reference_frame": reference_frame, "objects": object_ids, "frames": [start, end]},
    )
    from ml.actors import propagate_objects

    transaction.on_commit(lambda: propagate_objects.send(job.pk))
    return run


def run_propagation(job_id: int) -> None:
    """The job body (ML worker): track every object and write each frame as it comes."""
    job = start_job(job_id)
    if job is None:
        return  # already finished: a retried message is a no-op
    run = PropagationRun.objects.select_related("task").get(job=job)
    try:
        _propagate(job, run)
    except Exception as exc:
        logger.exception("propagation %s failed", run.pk)
        _save_stats(run)
        fail_job(job, f"Propagation failed: {exc}")


# Propagated frames are written in batches (one annotation revision each), not one by one.
FLUSH_FRAMES = 16
FLUSH_SECONDS = 5.0


def _propagate(job: Job, run: PropagationRun) -> None:
    from ml.engine.sam import FrameTensors, SamUnavailable, get_engine

    task = run.task
    try:
        engine = get_engine()
    except SamUnavailable as exc:
        fail_job(job, str(exc))
        return
    run.model_version, run.device = engine.model_version, str(engine.device)
    run.frames_processed, run.annotations_written, run.frame_seconds = 0, 0, []
    # A retry starts over: what an earlier attempt wrote belongs to this chain.
    annotation_sink.clear_chain(task, job)
    frames = frames_of(task)
    reference = frames[run.reference_frame]
    size = (reference.height, reference.width)
    odd = [f.index for f in frames[run.start_frame : run.end_frame + 1] if (f.height, f.width) != size]
    if odd:
        fail_job(job, f"Frames {odd[:10]} differ in size from the reference frame ({size[1]}x{size[0]}).")
        return
    masks = annotation_sink.object_masks(task, run.reference_frame, *size)
    missing = [o for o in run.object_ids if o not in masks or masks[o][1].label_id is None]
    if missing:
        fail_job(job, f"Frame {run.reference_frame} no longer has a classed mask for object {', '.join(missing)}.")
        return
    if job.params.get("replace_previous", True):
        _replace_previous_chains(run)
    sam_ids = {number: object_id for number, object_id in enumerate(run.object_ids, start=1)}
    class_names = {object_id: masks[object_id][1].label.name for object_id in run.object_ids}
    prompts: dict[int, dict[int, object]] = {run.reference_frame: {n: masks[o][0] for n, o in sam_ids.items()}}
    own_frames = {
        o: annotation_sink.frames_with_own_shapes(task, o, run.start_frame, run.end_frame) for o in run.object_ids
    }
    for number, object_id in sam_ids.items():
        for index in sorted(own_frames[object_id] - {run.reference_frame}):
            corrected = annotation_sink.object_masks(task, index, *size).get(object_id)
            if corrected is not None:  # a person's shape on another frame guides the tracking
                prompts.setdefault(index, {})[number] = corrected[0]
    total = run.end_frame - run.start_frame
    report_progress(job, done=0, total=total, message=f"Propagating {len(sam_ids)} object(s) over {total} frames")
    loader = FrameTensors(lambda a, b: frame_run(task, a, b), len(frames), engine.model.image_size)
    pending: list[dict] = []
    started = last = flushed = time.perf_counter()
    steps = engine.propagate(
        frames=loader,
        height=size[0],
        width=size[1],
        reference_frame=run.reference_frame,
        prompts=prompts,
        start_frame=run.start_frame,
        end_frame=run.end_frame,
    )
    for frame_index, frame_masks in steps:
        if frame_index == run.reference_frame:
            continue
        for number, mask in frame_masks.items():
            object_id = sam_ids[number]
            if frame_index in own_frames[object_id]:
                continue
            shape = annotation_sink.propagated_shape(
                frame_index=frame_index, object_id=object_id, class_name=class_names[object_id], mask=mask
            )
            if shape is not None:
                pending.append(shape)
        now = time.perf_counter()
        run.frame_seconds.append(round(now - last, 4))
        last = now
        run.frames_processed += 1
        run.seconds_total = round(now - started, 4)
        cancelled = is_cancel_requested(job)
        if len(pending) >= FLUSH_FRAMES or now - flushed >= FLUSH_SECONDS or cancelled:
            run.annotations_written += annotation_sink.write_propagated(task=task, job=job, shapes=pending)
            pending, flushed = [], time.perf_counter()
        report_progress(job, done=run.frames_processed, message=f"Frame {frame_index} done")
        if cancelled:
            _save_stats(run)
            finish_job(job, status=JobStatus.CANCELLED, result=_result(run), message="Cancelled; frames so far kept.")
            return
    run.annotations_written += annotation_sink.write_propagated(task=task, job=job, shapes=pending)
    _save_stats(run)
    finish_job(job, result=_result(run), message=f"{run.frames_processed} frames propagated")


def _replace_previous_chains(run: PropagationRun) -> None:
    """Clear earlier, finished chains of this task that propagated one of the run's objects."""
    earlier = (
        PropagationRun.objects.filter(task=run.task, cleared_at__isnull=True, job__status__in=FINISHED)
        .exclude(pk=run.pk)
        .select_related("job")
    )
    for other in earlier:
        if set(other.object_ids) & set(run.object_ids):
            annotation_sink.clear_chain(run.task, other.job, actor=run.created_by)
            other.cleared_at = timezone.now()
            other.save(update_fields=["cleared_at"])


def _save_stats(run: PropagationRun) -> None:
    if run.frames_processed:
        run.seconds_per_frame = round(sum(run.frame_seconds) / run.frames_processed, 4)
    run.save(
        update_fields=[
            "model_version",
            "device",
            "frames_processed",
            "annotations_written",
            "frame_seconds",
            "seconds_total",
            "seconds_per_frame",
        ]
    )


def _result(run: PropagationRun) -> dict:
    return {
        "propagation_id": run.pk,
        "task_id": run.task_id,
        "frames_processed": run.frames_processed,
        "annotations_written": run.annotations_written,
        "seconds_per_frame": run.seconds_per_frame,
        "model_version": run.model_version,
    }


@transaction.atomic
def clear_propagation(*, actor, run: PropagationRun) -> list[int]:
    """Remove the chain's annotations (exactly those); the run stays on record as cleared."""
    job = Job.objects.select_for_update().get(pk=run.job_id)
    if not job.is_finished:
        raise Conflict(
            f"Propagation {run.pk} is still {job.status}; cancel it (POST /api/v1/jobs/{job.pk}/cancel) first.",
            code="propagation_running",
        )
    frames = annotation_sink.clear_chain(run.task, job, actor=actor)
    run.cleared_at = timezone.now()
    run.save(update_fields=["cleared_at"])
    record_event(
        actor=actor,
        organization=run.organization_id,
        action="sam.chain_cleared",
        target=run,
        after={"task": run.task_id, "frames": frames},
    )
    return frames


@transaction.atomic
def delete_propagation(*, actor, run: PropagationRun) -> list[int]:
    """Clear the chain and forget the run."""
    frames = clear_propagation(actor=actor, run=run)
    record_event(actor=actor, organization=run.organization_id, action="sam.propagation_deleted", target=run)
    run.delete()
    return frames
