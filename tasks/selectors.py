"""Read paths for tasks: scoped querysets with their relations loaded once, video metadata
hook, and the managers' progress report."""

from __future__ import annotations

import importlib
from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from projects.models import Project
from tasks.models import LockPurpose, Task, TaskClaim, TaskStatus, TaskTransition

USER_RELATIONS = ("assignee", "reviewer", "annotator", "locked_by")


def with_relations(queryset: QuerySet[Task]) -> QuerySet[Task]:
    """Everything a task's API representation reads, in a constant number of queries."""
    return queryset.select_related("batch", *USER_RELATIONS).prefetch_related("tags")


def video_metadata_for(task: Task) -> dict | None:
    """The task's normalized video metadata (seed ``TaskOut.video_metadata``), or None.

    Media owns it: this calls ``media.selectors.video_metadata_for(task)`` when that exists,
    so the task API needs no change when video ingest lands.
    """
    try:
        media_selectors = importlib.import_module("media.selectors")
    except ModuleNotFoundError as exc:
        if exc.name != "media.selectors":
            raise
        return None
    provider = getattr(media_selectors, "video_metadata_for", None)
    return provider(task) if provider is not None else None


def _status_counts(rows, key: str) -> dict[Any, dict[str, int]]:
    out: dict[Any, dict[str, int]] = defaultdict(dict)
    for row in rows:
        out[row[key]][row["status"]] = row["n"]
    return out


def _seconds(value: timedelta | None) -> int:
    return int(value.total_seconds()) if value else 0


def project_progress(project: Project) -> dict[str, Any]:
    """Counts by status for the project, per batch and per person, with time spent.

    Time spent is derived from lock history (``TaskClaim``): a claim counts from when it was
    taken until it ended (submit, approve, return, skip, release); an expired claim counts
    until its last sign of life (the claim or its last renewal), and a claim still open counts
    until now.
    """
    tasks = Task.objects.filter(project=project)
    by_status = {row["status"]: row["n"] for row in tasks.values("status").annotate(n=Count("id")).order_by()}
    batch_rows = tasks.values("batch_id", "batch__name", "status").annotate(n=Count("id")).order_by()
    batches: dict[Any, dict[str, Any]] = {}
    for row in batch_rows:
        entry = batches.setdefault(
            row["batch_id"], {"batch_id": row["batch_id"], "name": row["batch__name"], "total": 0, "by_status": {}}
        )
        entry["by_status"][row["status"]] = row["n"]
        entry["total"] += row["n"]

    assigned = _status_counts(
        tasks.filter(assignee__isnull=False).values("assignee_id", "status").annotate(n=Count("id")).order_by(),
        "assignee_id",
    )
    annotated = _status_counts(
        tasks.filter(annotator__isnull=False).values("annotator_id", "status").annotate(n=Count("id")).order_by(),
        "annotator_id",
    )
    decisions = {
        row["actor_id"]: row["n"]
        for row in TaskTransition.objects.filter(
            task__project=project,
            from_status=TaskStatus.SUBMITTED,
            to_status__in=[TaskStatus.REVIEWED, TaskStatus.RETURNED],
            actor__isnull=False,
        )
        .values("actor_id")
        .annotate(n=Count("id"))
        .order_by()
    }
    now = timezone.now()
    duration = ExpressionWrapper(Coalesce("ended_at", Value(now)) - F("claimed_at"), output_field=DurationField())
    claim_rows = (
        TaskClaim.objects.filter(task__project=project, user__isnull=False)
        .values("user_id", "user__username")
        .annotate(
            claims=Count("id"),
            annotation_time=Sum(duration, filter=Q(purpose=LockPurpose.ANNOTATE)),
            review_time=Sum(duration, filter=Q(purpose=LockPurpose.REVIEW)),
            holding=Count("id", filter=Q(ended_at__isnull=True)),
        )
        .order_by()
    )
    people: dict[int, dict[str, Any]] = {}

    def person(user_id: int) -> dict[str, Any]:
        return people.setdefault(
            user_id,
            {
                "user_id": user_id,
                "username": None,
                "assigned": {},
                "annotated": {},
                "review_decisions": 0,
                "claims": 0,
                "holding": 0,
                "annotation_seconds": 0,
                "review_seconds": 0,
            },
        )

    for row in claim_rows:
        entry = person(row["user_id"])
        entry.update(
            username=row["user__username"],
            claims=row["claims"],
            holding=row["holding"],
            annotation_seconds=_seconds(row["annotation_time"]),
            review_seconds=_seconds(row["review_time"]),
        )
    for user_id, counts in assigned.items():
        person(user_id)["assigned"] = counts
    for user_id, counts in annotated.items():
        person(user_id)["annotated"] = counts
    for user_id, count in decisions.items():
        person(user_id)["review_decisions"] = count
    missing = [uid for uid, entry in people.items() if entry["username"] is None]
    if missing:
        from accounts.models import User

        for uid, username in User.objects.filter(pk__in=missing).values_list("pk", "username"):
            people[uid]["username"] = username
    return {
        "project_id": project.pk,
        "total": sum(by_status.values()),
        "by_status": by_status,
        "batches": sorted(batches.values(), key=lambda b: (b["batch_id"] is None, b["name"] or "")),
        "people": sorted(people.values(), key=lambda p: p["username"] or ""),
    }
