"""Dramatiq actors of exports and imports: thin shells over the services (queue "exports")."""

from __future__ import annotations

import dramatiq


@dramatiq.actor(queue_name="exports", max_retries=3, time_limit=6 * 3600 * 1000)
def run_export_job(export_id: int) -> None:
    """Write an export's archive to storage, reporting progress on its job."""
    from exports.services.exports import run_export

    run_export(export_id)


@dramatiq.actor(queue_name="exports", max_retries=3, time_limit=6 * 3600 * 1000)
def run_import_job(import_id: int) -> None:
    """Check and write an uploaded import, reporting progress and the per-file report."""
    from exports.services.imports import run_import

    run_import(import_id)
