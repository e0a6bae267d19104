"""Next task, next review, and the life of a lock: claim, renew, release, expire.

How a claim stays correct under concurrency
-------------------------------------------
On PostgreSQL a claim is one SQL statement (``tasks.services.pg_claim``): it picks the first
free task in queue order with ``SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1`` — a row another
claim is busy with is skipped rather than waited for — sets the caller's lock on it and writes
the claim's history and audit rows, all atomically. "Free" means no lock or an expired one,
so an abandoned task is claimable at once, without waiting for the expiry sweep.

Backends without ``SKIP LOCKED`` (SQLite, the embedded default) run the same steps through
the ORM (``_take``) behind a compare-and-set: read a few candidate ids in queue order, then
``UPDATE ... WHERE id = %s AND <the queue's conditions still hold>``; one updated row means
the task is ours, zero means someone was faster and the next candidate is tried. A
"database is locked" error (SQLite serialises writers) retries the whole transaction with a
short backoff. Embedded SQLite also opens transactions IMMEDIATE, so the compare-and-set is
belt and braces there; it keeps the fallback correct on a server with concurrent writers
(the concurrency tests run it on PostgreSQL too).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime

from django.db import OperationalError, connection, transaction
from django.db.models import Case, Q, QuerySet, Value, When
from django.utils import timezone

from annotator.api.errors import Conflict, Locked
from audit.services import record_event
from projects.models import Project
from tasks.events import publish_task_status
from tasks.models import ANNOTATION_QUEUE, Batch, LockPurpose, Task, TaskClaim, TaskStatus
from tasks.services.lifecycle import move_task
from tasks.services.locks import end_lock, lock_duration, lock_is_live, locked_error
from tasks.services.pg_claim import claim_with_one_statement

# Fallback (no SKIP LOCKED): candidates read per attempt, and attempts on "database is locked".
CANDIDATES_PER_ATTEMPT = 16
LOCKED_DATABASE_RETRIES = 8


def uses_skip_locked() -> bool:
    return connection.features.has_select_for_update_skip_locked


def _free_lock(now: datetime) -> Q:
    return Q(locked_by__isnull=True) | Q(lock_expires_at__lte=now)


def _scope(project: Project, batch: Batch | None) -> QuerySet[Task]:
    scope = Task.objects.filter(project=project)
    return scope.filter(batch=batch) if batch is not None else scope


def _annotation_queue(user, project: Project, batch: Batch | None, now: datetime) -> QuerySet[Task]:
    """Tasks anyone (or this user) may start, best first; returned work is handled before."""
    return (
        _scope(project, batch)
        .filter(status__in=ANNOTATION_QUEUE)
        .filter(Q(assignee__isnull=True) | Q(assignee=user))
        .filter(_free_lock(now))
        .order_by("-priority", "created_at", "id")
    )


def _returned_to(user, project: Project, batch: Batch | None, now: datetime) -> QuerySet[Task]:
    return (
        _scope(project, batch)
        .filter(status=TaskStatus.RETURNED, assignee=user)
        .filter(_free_lock(now))
        .order_by("-priority", "created_at", "id")
    )


def _review_queue(user, project: Project, batch: Batch | None, now: datetime) -> QuerySet[Task]:
    queue = (
        _scope(project, batch)
        .filter(status=TaskStatus.SUBMITTED)
        .filter(Q(reviewer__isnull=True) | Q(reviewer=user))
        .filter(_free_lock(now))
    )
    if project.reviewer_must_differ:
        queue = queue.filter(Q(annotator__isnull=True) | ~Q(annotator=user))
    return queue.order_by("-priority", "submitted_at", "id")


def _held_or_returned(user, project: Project, batch: Batch | None, now: datetime) -> Task | None:
    """In one query: the task this user holds here (first), else work returned to them."""
    held = Q(locked_by=user, lock_expires_at__gt=now, status=TaskStatus.IN_PROGRESS)
    returned = Q(status=TaskStatus.RETURNED, assignee=user) & _free_lock(now)
    return (
        _scope(project, batch)
        .filter(held | returned)
        .annotate(held_first=Case(When(held, then=Value(0)), default=Value(1)))
        .order_by("held_first", "-priority", "created_at", "id")
        .first()
    )


def _held_by(user, project: Project, batch: Batch | None, status: str, now: datetime) -> Task | None:
    """The task this user already holds a live lock on in this scope (asking again returns it)."""
    return (
        _scope(project, batch)
        .filter(locked_by=user, lock_expires_at__gt=now, status=status)
        .order_by("lock_expires_at", "id")
        .first()
    )


def _take(task: Task, user, purpose: str, now: datetime, *, lock_already_set: bool = False) -> Task:
    """Record the claim of ``task`` (a row this transaction owns): lock, status, history, audit.

    The ORM path; ``pg_claim`` does the same in one statement on PostgreSQL.
    """
    before_status = task.status
    status_before = task.status
    previous = None
    if lock_already_set or task.locked_by_id is not None:
        previous = TaskClaim.objects.filter(task_id=task.pk, ended_at__isnull=True).select_related("user").first()
    if previous is not None:  # an expired lock we take over: its expiry is recorded first
        _record_expiry(task, previous)
        if task.status == TaskStatus.IN_PROGRESS:
            status_before = previous.status_before
    task.locked_by = user
    task.lock_expires_at = now + lock_duration()
    lock_fields = ["locked_by", "lock_expires_at"]
    if purpose == LockPurpose.ANNOTATE and task.status != TaskStatus.IN_PROGRESS:
        move_task(task, TaskStatus.IN_PROGRESS, actor=user, reason="claimed", also_save=lock_fields, audit=False)
    else:
        task.save(update_fields=[*lock_fields, "updated_at"])
    TaskClaim.objects.create(
        organization_id=task.organization_id,
        task=task,
        user=user,
        purpose=purpose,
        status_before=status_before,
        claimed_at=now,
    )
    record_event(
        actor=user,
        organization=task.organization_id,
        action="task.claimed" if purpose == LockPurpose.ANNOTATE else "task.review_claimed",
        target=task,
        before={"status": before_status},
        after={"status": task.status, "locked_by": user.username, "lock_expires_at": task.lock_expires_at.isoformat()},
    )
    return task


def _record_expiry(task: Task, claim: TaskClaim | None) -> None:
    """Close an expired claim (ended at its last sign of life: claim or renewal) and audit it."""
    before: dict = {"locked_by_id": task.locked_by_id}
    if claim is not None:
        last_sign_of_life = claim.last_renewed_at or claim.claimed_at
        TaskClaim.objects.filter(pk=claim.pk).update(ended_at=last_sign_of_life, end_reason=TaskClaim.EndReason.EXPIRED)
        before = {
            "locked_by": claim.user.username if claim.user else None,
            "purpose": claim.purpose,
            "last_active_at": last_sign_of_life.isoformat(),
        }
    record_event(actor=None, organization=task.organization_id, action="task.lock_expired", target=task, before=before)


def _claim_first(queue: QuerySet[Task], user, purpose: str, now: datetime) -> Task | None:
    """Claim the first task of ``queue`` that nobody else is claiming right now."""
    expires = now + lock_duration()
    if uses_skip_locked():
        return claim_with_one_statement(queue, user=user, purpose=purpose, now=now, expires=expires)
    tried: list[int] = []
    while True:
        candidates = list(queue.exclude(pk__in=tried).values_list("pk", flat=True)[:CANDIDATES_PER_ATTEMPT])
        if not candidates:
            return None
        for pk in candidates:
            # Compare-and-set: only if the queue conditions still hold for this row.
            won = queue.filter(pk=pk).update(locked_by=user, lock_expires_at=expires)
            if won:
                task = Task.objects.get(pk=pk)
                return _take(task, user, purpose, now, lock_already_set=True)
        tried += candidates


def _with_retries(fn: Callable[[], Task | None]) -> Task | None:
    if uses_skip_locked():
        return fn()  # no transaction needed: the claim itself is one statement (pg_claim)
    attempts = LOCKED_DATABASE_RETRIES
    for attempt in range(attempts):
        try:
            with transaction.atomic():
                return fn()
        except OperationalError as exc:
            if attempt == attempts - 1 or "locked" not in str(exc).lower():
                raise
            time.sleep(0.01 * (2**attempt) * (0.5 + random.random()))
    return None  # pragma: no cover - the loop returns or raises


def claim_next_task(*, user, project: Project, batch: Batch | None = None) -> Task | None:
    """Hand ``user`` the best task to annotate in ``project`` (optionally one batch), locked to
    them for ``TASK_LOCK_MINUTES`` and moved to ``in_progress``; ``None`` when nothing is free.

    Order: the task they already hold here (asking again returns it); tasks returned to them
    by a reviewer; then any free task nobody else is assigned to — highest priority first,
    then oldest. Tasks assigned to someone else are never handed out.
    """

    def claim() -> Task | None:
        now = timezone.now()
        mine = _held_or_returned(user, project, batch, now)
        if mine is not None and mine.status == TaskStatus.IN_PROGRESS:
            return mine  # asking again while the lock lives returns the same task
        returned = None
        if mine is not None:
            returned = _claim_first(_returned_to(user, project, batch, now), user, LockPurpose.ANNOTATE, now)
        return returned or _claim_first(_annotation_queue(user, project, batch, now), user, LockPurpose.ANNOTATE, now)

    task = _with_retries(claim)
    if task is not None:
        publish_task_status(task)
    return task


def claim_next_review(*, user, project: Project, batch: Batch | None = None) -> Task | None:
    """Hand ``user`` the next submitted task to review, locked to them (status stays
    ``submitted``); ``None`` when nothing is free. Highest priority first, then the oldest
    submission; tasks with another reviewer assigned are never handed out, and with the
    project's ``reviewer_must_differ`` nobody gets a task they annotated."""

    def claim() -> Task | None:
        now = timezone.now()
        held = _held_by(user, project, batch, TaskStatus.SUBMITTED, now)
        if held is not None:
            return held
        return _claim_first(_review_queue(user, project, batch, now), user, LockPurpose.REVIEW, now)

    task = _with_retries(claim)
    if task is not None:
        publish_task_status(task)
    return task


@transaction.atomic
def renew_task_lock(*, task: Task, user) -> Task:
    """Extend the caller's lock by ``TASK_LOCK_MINUTES`` from now (only the holder).

    A holder whose lock ran out may still renew it as long as nobody else has taken the task
    and the expiry sweep has not yet given it back to the queue.
    """
    task = Task.objects.select_for_update(of=("self",)).select_related("locked_by").get(pk=task.pk)
    if task.locked_by_id != user.pk:
        if lock_is_live(task):
            raise locked_error(task)
        raise Locked(
            f"You do not hold a lock on task {task.pk}; claim it with POST /api/v1/tasks/next "
            f"(or /api/v1/reviews/next).",
            code="lock_required",
            locked_by=None,
            lock_expires_at=None,
        )
    now = timezone.now()
    task.lock_expires_at = now + lock_duration()
    task.save(update_fields=["lock_expires_at", "updated_at"])
    TaskClaim.objects.filter(task_id=task.pk, ended_at__isnull=True).update(last_renewed_at=now)
    record_event(
        actor=user,
        organization=task.organization_id,
        action="task.lock_renewed",
        target=task,
        after={"lock_expires_at": task.lock_expires_at.isoformat()},
    )
    return task


def _give_back(task: Task, claim: TaskClaim | None, *, actor, reason: str, fields: list[str]) -> None:
    """After a lock ends: an unfinished annotation claim returns the task to its queue."""
    if task.status == TaskStatus.IN_PROGRESS:
        back_to = claim.status_before if claim is not None else None
        if back_to in (None, TaskStatus.IN_PROGRESS):
            back_to = TaskStatus.ASSIGNED if task.assignee_id else TaskStatus.CREATED
        move_task(task, back_to, actor=actor, reason=reason, also_save=fields, audit=False)
    elif fields:
        task.save(update_fields=[*fields, "updated_at"])


@transaction.atomic
def release_task_lock(*, task: Task, user, force: bool = False) -> Task:
    """End the lock now. The holder may release their own; with ``force`` (managers) anyone's.

    An annotation claim that ends this way gives the task back to the queue it came from
    (created, assigned or returned). Releasing a task nobody holds does nothing.
    """
    task = Task.objects.select_for_update(of=("self",)).select_related("locked_by").get(pk=task.pk)
    if task.locked_by_id is None:
        return task
    if task.locked_by_id != user.pk and not force:
        if lock_is_live(task):
            raise locked_error(task)
        raise Conflict(f"Task {task.pk}'s lock belongs to someone else and has expired; nothing to release.")
    claim = TaskClaim.objects.filter(task_id=task.pk, ended_at__isnull=True).select_related("user").first()
    holder = task.locked_by.username if task.locked_by else None
    ended = TaskClaim.EndReason.RELEASED if task.locked_by_id == user.pk else TaskClaim.EndReason.BROKEN
    fields = end_lock(task, reason=ended)
    _give_back(task, claim, actor=user, reason=f"lock {ended}", fields=fields)
    record_event(
        actor=user,
        organization=task.organization_id,
        action="task.lock_released",
        target=task,
        before={"locked_by": holder},
        after={"status": task.status, "by": "holder" if ended == TaskClaim.EndReason.RELEASED else "manager"},
    )
    return task


def expire_task_locks(*, now: datetime | None = None, chunk: int = 500) -> int:
    """Record every lock that ran out and give those tasks back to their queue. Idempotent.

    Each chunk is its own short transaction; rows a claim is busy with are skipped (that claim
    records the expiry itself). Returns how many locks were expired.
    """
    expired = 0
    while True:
        moment = now or timezone.now()
        with transaction.atomic():
            due = Task.objects.filter(locked_by__isnull=False, lock_expires_at__lte=moment).order_by("lock_expires_at")
            if uses_skip_locked():
                due = due.select_for_update(skip_locked=True)
            tasks = list(due[:chunk])
            if not tasks:
                return expired
            claims = {
                claim.task_id: claim
                for claim in TaskClaim.objects.filter(task__in=tasks, ended_at__isnull=True).select_related("user")
            }
            for task in tasks:
                claim = claims.get(task.pk)
                _record_expiry(task, claim)
                task.locked_by = None
                task.lock_expires_at = None
                _give_back(task, claim, actor=None, reason="lock expired", fields=["locked_by", "lock_expires_at"])
            expired += len(tasks)
        if len(tasks) < chunk:
            return expired
