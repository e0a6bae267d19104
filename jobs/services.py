"""Job lifecycle: create, start, report progress, finish — each change published live."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs.events import job_group, project_group, publish
from jobs.models import FINISHED, Job, JobStatus


def job_event(job: Job) -> dict[str, Any]:
    return {
        "type": "job",
        "job_id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "project_id": job.project_id,
        "done": job.progress_done,
        "total": job.progress_total,
        "message": job.message,
        "errors": job.errors[-20:],
        "result": job.result,
    }


def _publish(job: Job) -> None:
    groups = [job_group(job.organization_id, job.pk)]
    if job.project_id:
        groups.append(project_group(job.organization_id, job.project_id))
    event = job_event(job)
    transaction.on_commit(lambda: publish(groups, event))


def create_job(
    *, organization, kind: str, created_by=None, project=None, params: dict | None = None, total: int = 0
) -> Job:
    job = Job.objects.create(
        organization_id=organization if isinstance(organization, int) else organization.pk,
        kind=kind,
        created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
        project=project,
        params=params or {},
        progress_total=total,
    )
    _publish(job)
    return job


def start_job(job_id: int) -> Job | None:
    """Mark a job running (counting the attempt). None if it is already finished (a retry).

    Dramatiq counts retries only when an actor raises; a message whose worker dies each time
    (the OOM killer on a huge file) would be redelivered forever. So a job is given up —
    failed, saying why — when it would start a ``JOB_MAX_ATTEMPTS``-th + 1 time."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.status in FINISHED:
            return None
        if job.attempts >= settings.JOB_MAX_ATTEMPTS:
            error = (
                f"Given up after {job.attempts} attempts that never finished: the worker running it stopped "
                "each time (out of memory, or killed). Check the workers' logs and memory, then start it again "
                "(a media import: POST .../imports/{id}/resume)."
            )
            job.errors = [*job.errors, error]
            job.save(update_fields=["errors"])
            finish_job(job, status=JobStatus.FAILED, message=error)
            return None
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["status", "attempts", "started_at"])
        _publish(job)
    return job


def report_progress(
    job: Job, *, done: int | None = None, total: int | None = None, message: str | None = None, error: str | None = None
) -> None:
    fields = []
    if done is not None:
        job.progress_done = done
        fields.append("progress_done")
    if total is not None:
        job.progress_total = total
        fields.append("progress_total")
    if message is not None:
        job.message = message[:500]
        fields.append("message")
    if error is not None:
        job.errors = [*job.errors, error]
        fields.append("errors")
    if fields:
        Job.objects.filter(pk=job.pk).update(**{f: getattr(job, f) for f in fields})
        _publish(job)


def is_cancel_requested(job: Job) -> bool:
    return Job.objects.filter(pk=job.pk, cancel_requested=True).exists()


def finish_job(
    job: Job, *, status: str = JobStatus.SUCCEEDED, result: dict | None = None, message: str | None = None
) -> None:
    job.status = status
    job.finished_at = timezone.now()
    if result is not None:
        job.result = result
    if message is not None:
        job.message = message[:500]
    if status == JobStatus.SUCCEEDED and job.progress_total:
        job.progress_done = job.progress_total
    job.save(update_fields=["status", "finished_at", "result", "message", "progress_done"])
    _publish(job)


def fail_job(job: Job, error: str) -> None:
    job.errors = [*job.errors, error]
    job.save(update_fields=["errors"])
    finish_job(job, status=JobStatus.FAILED, message=error)


def requeue_job(job: Job, *, message: str) -> None:
    """Put a finished job back in the queue with a fresh budget of attempts (the caller sends
    its message once the transaction commits). Its errors are kept: the history of the run."""
    job.status = JobStatus.QUEUED
    job.attempts = 0
    job.cancel_requested = False
    job.finished_at = None
    job.message = message[:500]
    job.save(update_fields=["status", "attempts", "cancel_requested", "finished_at", "message"])
    _publish(job)


def request_cancel(job: Job) -> Job:
    if not job.is_finished:
        Job.objects.filter(pk=job.pk).update(cancel_requested=True)
        job.cancel_requested = True
        _publish(job)
    return job
