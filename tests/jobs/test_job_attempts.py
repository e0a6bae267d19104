"""A job whose worker dies every time it runs is given up instead of redelivered forever."""

from __future__ import annotations

import pytest

from jobs.models import Job, JobStatus
from jobs.services import create_job, start_job

pytestmark = pytest.mark.django_db


def test_each_start_counts_an_attempt_until_the_limit_fails_the_job_saying_why(world_a, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    job = create_job(organization=world_a.org, kind="media.import", total=10)
    for attempt in (1, 2, 3):  # the worker is killed each time: nothing finishes the job
        started = start_job(job.pk)
        assert started is not None and started.attempts == attempt and started.status == JobStatus.RUNNING

    assert start_job(job.pk) is None  # the 4th delivery of the message does no work
    job = Job.objects.get(pk=job.pk)
    assert job.status == JobStatus.FAILED and job.attempts == 3 and job.finished_at is not None
    assert "Given up after 3 attempts" in job.message and "out of memory" in job.message
    assert job.errors[-1] == job.message
    assert start_job(job.pk) is None and Job.objects.get(pk=job.pk).attempts == 3  # finished: left alone


def test_a_job_below_the_limit_still_starts(world_a, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    job = create_job(organization=world_a.org, kind="exports.export")
    Job.objects.filter(pk=job.pk).update(attempts=2)
    started = start_job(job.pk)
    assert started is not None and started.attempts == 3 and started.status == JobStatus.RUNNING
