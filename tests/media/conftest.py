"""Media test helpers: imports run through the real services and actor functions."""

from __future__ import annotations

import io
import zipfile

import pytest

from jobs.models import Job
from media.models import ImportFile
from media.services.imports import IncomingFile, Source, start_import


def files_of(pairs) -> list[IncomingFile]:
    return [IncomingFile(name=name, content=data, size=len(data)) for name, data in pairs]


def run_import_now(job_id: int) -> Job:
    """Run the import actor and every video job it queued, in this thread."""
    from media.actors import process_video, run_import

    run_import.fn(job_id)
    for video_job in Job.objects.filter(kind="media.video", params__import_job_id=job_id).order_by("id"):
        process_video.fn(video_job.pk)
    return Job.objects.get(pk=job_id)


@pytest.fixture
def ingest(db):
    """ingest(project, [(name, bytes), ...], **start_import kwargs) -> finished import Job."""

    def run(project, pairs, *, actor=None, source=Source.UPLOAD, **kwargs) -> Job:
        job = start_import(
            actor=actor or project.created_by, project=project, files=files_of(pairs), source=source, **kwargs
        )
        return run_import_now(job.pk)

    return run


def outcomes(job) -> dict[str, tuple[str, str]]:
    """name -> (outcome, code) for every file of an import (archives included)."""
    return {f.name: (f.outcome, f.code) for f in ImportFile.objects.filter(job=job)}


def zip_bytes(members: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()
