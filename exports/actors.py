"""Dramatiq actors of exports and imports: thin shells over the services (queue "exports")."""

from __future__ import annotations

import dramatiq
from django.conf import settings

MAX_RETRIES = 3


@dramatiq.actor(
    queue_name="exports",
    max_retries=MAX_RETRIES,
    min_backoff=settings.EXPORTS_RETRY_BACKOFF_MS,
    time_limit=6 * 3600 * 1000,
)
def run_export_job(export_id: int) -> None:
    """Write an export's archive to storage, reporting progress on its job. A storage failure
    is retried (after EXPORTS_RETRY_BACKOFF_MS, doubling); the last attempt fails the job."""
    from exports.services.exports import run_export

    run_export(export_id, storage_retries=MAX_RETRIES)


@dramatiq.actor(queue_name="exports", max_retries=3, time_limit=6 * 3600 * 1000)
def run_import_job(import_id: int) -> None:
    """Check and write an uploaded import, reporting progress and the per-file report."""
    from exports.services.imports import run_import

    run_import(import_id)
