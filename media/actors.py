"""Media workers (queue ``media``): run imports and finish videos. Thin shells over
``media.services``; both are idempotent (a retried message neither duplicates tasks,
assets or frames nor redoes finished work)."""

from __future__ import annotations

import logging

import dramatiq
from django.conf import settings

from jobs.models import JobStatus
from jobs.services import fail_job, finish_job, report_progress, start_job
from media.storage import is_storage_error

logger = logging.getLogger(__name__)

MAX_RETRIES = 3
SIX_HOURS_MS = 6 * 3600 * 1000


def _give_up_or_retry(job, exc: Exception, what: str) -> None:
    """Infrastructure errors (database, storage) are retried after MEDIA_RETRY_BACKOFF_MS
    (doubling), each failed attempt listed in the job's errors; the last attempt fails the job."""
    storage = is_storage_error(exc)
    problem = f"{type(exc).__name__}: {str(exc)[:300]}"
    if storage:
        problem = f"storage unavailable ({problem})"
    if job.attempts > MAX_RETRIES:
        logger.exception("%s failed (attempt %s): giving up", what, job.attempts)
        advice = ""
        if storage and what == "import":
            advice = (
                " Files imported so far are kept and the others stay pending: resume the import "
                "(POST .../imports/{id}/resume) once storage is back."
            )
        fail_job(job, f"{what.capitalize()} failed after {job.attempts} attempts: {problem}.{advice}")
        return
    if storage:
        logger.warning("%s %s: %s; retrying after attempt %s", what, job.pk, problem, job.attempts)
    else:
        logger.exception("%s failed (attempt %s)", what, job.attempts)
    try:
        report_progress(job, message=f"Retrying: {problem}"[:500], error=f"Attempt {job.attempts}: {problem}")
    except Exception:  # the database may be what failed: the retry goes on all the same
        logger.warning("%s %s: could not record attempt %s", what, job.pk, job.attempts, exc_info=True)
    raise exc


@dramatiq.actor(
    queue_name="media", max_retries=MAX_RETRIES, min_backoff=settings.MEDIA_RETRY_BACKOFF_MS, time_limit=SIX_HOURS_MS
)
def run_import(job_id: int) -> None:
    """Check, group and ingest the files of an import (jobs.Job kind ``import``)."""
    from media.services.ingest import run_import as run

    job = start_job(job_id)
    if job is None:
        return
    try:
        run(job)
    except Exception as exc:
        _give_up_or_retry(job, exc, "import")


@dramatiq.actor(
    queue_name="media", max_retries=MAX_RETRIES, min_backoff=settings.MEDIA_RETRY_BACKOFF_MS, time_limit=SIX_HOURS_MS
)
def process_video(job_id: int) -> None:
    """Picture types for a video's timetable and, when needed, its H.264 playback copy."""
    from media.models import Asset, AssetStatus
    from media.services.video_processing import process_video as process

    job = start_job(job_id)
    if job is None:
        return
    try:
        result = process(job)
    except Asset.DoesNotExist:
        finish_job(job, status=JobStatus.CANCELLED, message="The video was deleted before it was processed.")
        return
    except Exception as exc:
        if job.attempts > MAX_RETRIES:
            Asset.objects.filter(pk=job.params.get("asset_id")).update(
                status=AssetStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
            )
        _give_up_or_retry(job, exc, "video processing")
        return
    finish_job(job, result=result, message="ready")
