"""Media workers (queue ``media``): run imports and finish videos. Thin shells over
``media.services``; both are idempotent (a retried message neither duplicates tasks,
assets or frames nor redoes finished work)."""

from __future__ import annotations

import logging

import dramatiq

from jobs.models import JobStatus
from jobs.services import fail_job, finish_job, start_job

logger = logging.getLogger(__name__)

MAX_RETRIES = 3
SIX_HOURS_MS = 6 * 3600 * 1000


def _give_up_or_retry(job, exc: Exception, what: str) -> None:
    """Infrastructure errors (database, storage) are retried; the last attempt fails the job."""
    logger.exception("%s failed (attempt %s)", what, job.attempts)
    if job.attempts > MAX_RETRIES:
        fail_job(job, f"{what} failed: {type(exc).__name__}: {exc}")
        return
    raise exc


@dramatiq.actor(queue_name="media", max_retries=MAX_RETRIES, min_backoff=2000, time_limit=SIX_HOURS_MS)
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


@dramatiq.actor(queue_name="media", max_retries=MAX_RETRIES, min_backoff=2000, time_limit=SIX_HOURS_MS)
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
