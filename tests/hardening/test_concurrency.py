"""Concurrency under real PostgreSQL row locks: threads with their own connections.

* Sustained claims: 64 clients claiming, releasing and submitting back to back from one
  small pool, so that they all fight over the head of the queue; no task is ever held by two
  (2,560 claims here, 10^5 with ``--long``). ``tests/tasks/test_concurrency.py``
  already proves single bursts (40 callers at once, a pool running dry, 32 annotators
  working through 160 tasks) on both claim implementations.
* Two editors saving the same revision at once (exactly one 409, the other's edit kept, no
  lost edit) is ``tests/annotations/test_concurrency.py::
  test_two_saves_from_the_same_revision_one_gets_409_none_is_lost`` (three rounds, real
  threads and connections): not repeated here.
* A project export racing the project's deletion, at each point where they can cross: the
  export either finishes or fails with a message saying why, the deletion goes through, and
  storage keeps no file that no row refers to.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection, transaction

from annotator.api.errors import ApiError
from exports.models import Export
from exports.services.exports import request_export, run_export
from jobs.models import Job, JobStatus
from organizations.roles import Role
from organizations.services import add_member
from projects.actors import purge_project_files
from projects.models import Project
from projects.services.projects import delete_project
from tasks.models import Task, TaskClaim, TaskStatus, TaskTransition
from tasks.services.claims import claim_next_task, release_task_lock
from tasks.services.lifecycle import transition_task
from tasks.services.locks import require_lock
from tests.conftest import PASSWORD, long_mode
from tests.exports.conftest import LABELS, add_image_task, annotate, box
from tests.tasks.conftest import new_task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and SKIP LOCKED are PostgreSQL's")


def run_threads(targets, timeout: float) -> list[str]:
    """Start one thread per callable, released together; each closes its own connection.
    Returns the errors raised (as text)."""
    barrier = threading.Barrier(len(targets))
    errors: list[str] = []

    def run(target):
        try:
            barrier.wait(timeout=60)
            target()
        except Exception as exc:  # reported by the caller
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(target,), daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic()))
    stuck = sum(thread.is_alive() for thread in threads)
    return errors + ([f"{stuck} thread(s) still running after {timeout:.0f} s"] if stuck else [])


# --- (a) sustained claims ------------------------------------------------------------------
CLIENTS = 64


def test_64_clients_claiming_back_to_back_never_hold_the_same_task(world_a, make_project):
    """Every client loops: claim the next task, then release it (back to the head of the
    queue, for someone else to take) or, one time in ten, submit it. A double assignment
    would show as a client handed a task another client still holds, a lock check refusing
    the holder, a claim taking over a live lock (it would end the earlier claim as
    ``expired``), two open claims of one task, or a task submitted twice."""
    claims_per_client = 1_563 if long_mode() else 40  # 64 x 40 = 2,560 claims; --long: 100,032
    submit_every = 10
    project = make_project(world_a, kind="image")
    submits = CLIENTS * (claims_per_client // submit_every)
    for i in range(submits + 2 * CLIENTS):  # enough that nobody ever finds the pool empty
        new_task(world_a, project, name=f"img-{i:06d}.jpg", priority=i % 3)
    users = [
        add_member(
            actor=world_a.owner,
            organization=world_a.org,
            username=f"claimer-{world_a.org.pk}-{i}",
            role=Role.ANNOTATOR,
            password=PASSWORD,
        )[0].user
        for i in range(CLIENTS)
    ]
    project = Project.objects.get(pk=project.pk)
    holders: dict[int, int] = {}  # task id -> user id, while a client holds it
    guard = threading.Lock()
    problems: list[str] = []
    counts: Counter = Counter()

    def client(user):
        for n in range(claims_per_client):
            task = claim_next_task(user=user, project=project)
            if task is None:
                problems.append(f"user {user.pk} found the pool empty")
                continue
            with guard:
                counts["claims"] += 1
                if task.locked_by_id != user.pk:
                    problems.append(f"task {task.pk} handed to {user.pk}, its row names {task.locked_by_id}")
                if holders.get(task.pk, user.pk) != user.pk:
                    problems.append(f"task {task.pk} handed to {user.pk} while {holders[task.pk]} holds it")
                holders[task.pk] = user.pk
            with guard:  # let go in the bookkeeping first: once the row is free, anyone may take it
                del holders[task.pk]
            try:
                if n % submit_every == submit_every - 1:
                    with transaction.atomic():  # what submitting annotations does with the row
                        row = Task.objects.select_for_update(of=("self",)).select_related("project").get(pk=task.pk)
                        require_lock(row, user)
                        transition_task(row, TaskStatus.SUBMITTED, actor=user)
                    with guard:
                        counts["submitted"] += 1
                else:
                    release_task_lock(task=task, user=user)
            except ApiError as exc:  # 423: someone else holds what this client was handed
                problems.append(f"user {user.pk} could not let go of task {task.pk}: {exc}")

    started = time.monotonic()
    errors = run_threads([lambda user=user: client(user) for user in users], timeout=1800 if long_mode() else 300)
    elapsed = time.monotonic() - started
    assert not errors, errors[:5]
    assert not problems, problems[:10]
    total = CLIENTS * claims_per_client
    assert counts["claims"] == total
    claims = TaskClaim.objects.filter(task__project=project)
    assert claims.count() == total
    assert not claims.filter(end_reason=TaskClaim.EndReason.EXPIRED).exists(), "a live lock was taken over"
    assert not claims.filter(ended_at__isnull=True).exists(), "a claim was left open"
    submitted = TaskTransition.objects.filter(task__project=project, to_status=TaskStatus.SUBMITTED)
    per_task = Counter(submitted.values_list("task_id", flat=True))
    assert len(per_task) == counts["submitted"] == CLIENTS * (claims_per_client // submit_every)
    assert max(per_task.values()) == 1, "a task was submitted twice"
    assert Task.objects.filter(project=project, status=TaskStatus.SUBMITTED).count() == counts["submitted"]
    assert not Task.objects.filter(project=project, locked_by__isnull=False).exists()
    # How busy the queue head was: tasks claimed by several people, one after another.
    shared = Counter(claims.values_list("task_id", flat=True))
    assert max(shared.values()) > 5
    print(f"\n{total:,} claims by {CLIENTS} clients in {elapsed:.1f} s ({total / elapsed:,.0f}/s)")


# --- (c) an export racing the project's deletion -------------------------------------------
def storage_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def referenced_paths() -> set[str]:
    """Every storage key a row still names (media, thumbnails, derived files, exports)."""
    from media.models import Asset

    paths = set(Export.objects.exclude(file_path="").values_list("file_path", flat=True))
    for asset in Asset.objects.all():
        paths.update(value for value in vars(asset).values() if isinstance(value, str) and value.startswith("orgs/"))
    return paths


def purge(job: Job) -> None:
    """The deletion's background job, run here (its Dramatiq actor's function)."""
    purge_project_files.fn(job.pk)


@pytest.fixture
def exported_project(world_a, make_project):
    project = make_project(world_a, kind="image", labels=LABELS, name="Export me")
    for i in range(6):
        task = add_image_task(world_a, project, f"img-{i}.png")
        annotate(task, [box(2 + i, 3, 20, 10, "car")])
    return project


# Where the deletion lands in the export: before it starts, while it reads frames (after the
# 2nd of 6), after the last frame (archive written, not yet stored), or after it finished.
MOMENTS = ["before_start", "mid_frames", "after_last_frame", "after_finish"]


@pytest.mark.parametrize("moment", MOMENTS)
def test_export_racing_project_deletion_ends_clearly_and_leaves_no_orphan_files(
    world_a, exported_project, settings, moment
):
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    project = exported_project
    export = request_export(actor=world_a.owner, project=project, format="coco", queue=False)
    reached, deleted = threading.Event(), threading.Event()
    outcome: dict = {}

    def on_progress(done: int, total: int) -> None:
        if (moment == "mid_frames" and done == 2) or (moment == "after_last_frame" and done == total):
            reached.set()
            assert deleted.wait(timeout=60), "the deletion did not happen"

    def exporter():
        if moment == "before_start":
            assert deleted.wait(timeout=60)
        try:
            outcome["export"] = run_export(export.pk, on_progress=on_progress)
        except Exception as exc:  # what the actor would see (and Dramatiq would retry)
            outcome["raised"] = exc
        finally:
            reached.set()

    def deleter():
        if moment == "mid_frames" or moment == "after_last_frame":
            assert reached.wait(timeout=60), "the export never reached the moment"
        elif moment == "after_finish":
            assert reached.wait(timeout=60)
        job = delete_project(actor=world_a.owner, project=Project.objects.get(pk=project.pk))
        purge(job)  # runs after the deletion commits, as on_commit sends it
        outcome["purge"] = job
        deleted.set()

    errors = run_threads([exporter, deleter], timeout=120)
    assert not errors, errors
    assert not Project.objects.filter(pk=project.pk).exists(), "the deletion went through"
    assert Job.objects.get(pk=outcome["purge"].pk).status == JobStatus.SUCCEEDED
    assert "raised" not in outcome, outcome  # the actor would retry an exception
    assert run_export(export.pk) is None  # a redelivered message finds nothing to do
    job = Job.objects.get(pk=export.job_id)
    assert job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED), (job.status, job.message, outcome)
    if job.status == JobStatus.FAILED:
        assert "deleted" in job.message, job.message  # says why, not a storage error
    # Storage: no file that no row names (the project's are all gone).
    files = storage_files(root)
    referenced = referenced_paths()
    orphans = [path for path in files if path not in referenced]
    assert not orphans, (moment, job.status, job.message, orphans)
    assert not [path for path in files if path.startswith(project.storage_prefix + "/")]
