"""Background work for projects: purge a deleted project's files, copy a project's content."""

from __future__ import annotations

import logging
import os
import shutil

import dramatiq
from django.core.files.storage import default_storage

from jobs.models import Job
from jobs.services import fail_job, finish_job, report_progress, start_job

logger = logging.getLogger(__name__)


def delete_storage_prefix(prefix: str) -> int:
    """Delete every stored file under ``prefix`` (local folder or S3 prefix). Idempotent."""
    prefix = prefix.strip("/")
    if not prefix.startswith("orgs/"):
        raise ValueError(f"refusing to purge outside an organization folder: {prefix!r}")
    removed = 0
    try:
        directories, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    for name in files:
        default_storage.delete(f"{prefix}/{name}")
        removed += 1
    for directory in directories:
        removed += delete_storage_prefix(f"{prefix}/{directory}")
    try:  # local storage: remove the emptied folders too (object stores have no folders)
        path = default_storage.path(prefix)
    except NotImplementedError:
        path = None
    if path is not None and os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    return removed


@dramatiq.actor(queue_name="maintenance", max_retries=5, min_backoff=2000)
def purge_project_files(job_id: int) -> None:
    """Remove a deleted project's stored files (safe to run twice)."""
    job = start_job(job_id)
    if job is None:
        return
    try:
        removed = delete_storage_prefix(job.params["prefix"])
    except Exception as exc:
        report_progress(job, error=f"{type(exc).__name__}: {exc}")
        raise  # retried by Dramatiq; idempotent
    finish_job(job, result={"files_removed": removed})


@dramatiq.actor(queue_name="default", max_retries=0, time_limit=6 * 3600 * 1000)
def copy_project_content(job_id: int) -> None:
    """Copy batches, tasks, media and annotations into a project created by copy_project."""
    from projects.models import Project
    from projects.services.projects import run_content_copiers

    job = start_job(job_id)
    if job is None:
        return
    try:
        source = Project.objects.get(pk=job.params["source_project_id"], organization_id=job.organization_id)
        target = Project.objects.get(pk=job.params["target_project_id"], organization_id=job.organization_id)
        run_content_copiers(source, target, job.created_by, job)
    except Project.DoesNotExist:
        fail_job(job, "The source or target project was deleted before the copy ran.")
        return
    except Exception as exc:
        logger.exception("project copy failed")
        fail_job(job, f"Copy failed: {type(exc).__name__}: {exc}")
        return
    finish_job(job, result={"project_id": job.params["target_project_id"]})


__all__ = ["Job", "copy_project_content", "purge_project_files"]
