"""Read paths of the ml app, tenant-scoped: inference records (recent, stats by date, search),
runs and chains."""

from __future__ import annotations

import json
from datetime import date, timedelta

from django.db import connection
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from ml.models import InferenceRecord, PropagationRun

RECENT_DEFAULT = 120
STATS_DEFAULT_DAYS = 15


def records(organization) -> QuerySet[InferenceRecord]:
    return InferenceRecord.objects.for_organization(organization).order_by("-created_at", "-id")


def recent_records(organization, limit: int = RECENT_DEFAULT) -> QuerySet[InferenceRecord]:
    """The latest ``limit`` records, newest first."""
    return records(organization)[:limit]


def record_stats_by_date(organization, start: date | None = None, end: date | None = None) -> list[dict]:
    """Per day: how many images were inferred and how many objects were found.

    Without dates: the last 15 days up to today (the detection contract's default window).
    """
    today = timezone.localdate()
    end = end or today
    start = start or (end - timedelta(days=STATS_DEFAULT_DAYS - 1))
    rows = (
        records(organization)
        .filter(created_at__date__gte=start, created_at__date__lte=end)
        .annotate(stat_date=TruncDate("created_at"))
        .order_by()
        .values("stat_date")
        .annotate(record_count=Count("id"), total_objects=Coalesce(Sum("object_count"), 0))
        .order_by("stat_date")
    )
    return list(rows)


def search_records(
    organization,
    *,
    name: str | None = None,
    object_count: int | None = None,
    label: str | None = None,
    model_version: str | None = None,
    status: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> QuerySet[InferenceRecord]:
    """Records matching every given filter, newest first (page it with limit/offset)."""
    rows = records(organization)
    if name:
        rows = rows.filter(image_name__icontains=name)
    if object_count is not None:
        rows = rows.filter(object_count=object_count)
    if label:
        if connection.features.supports_json_field_contains:
            rows = rows.filter(labels__contains=[label])
        else:  # SQLite (embedded default): match the quoted name inside the stored JSON text
            rows = rows.filter(labels__icontains=json.dumps(label))
    if model_version:
        rows = rows.filter(model_version=model_version)
    if status:
        rows = rows.filter(status=status)
    if start:
        rows = rows.filter(created_at__date__gte=start)
    if end:
        rows = rows.filter(created_at__date__lte=end)
    return rows


def chains_of_task(task) -> QuerySet[PropagationRun]:
    return PropagationRun.objects.filter(task=task).select_related("job", "created_by").order_by("-created_at")
