"""Read paths of the portal pages, already scoped to one organization."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.db.models import Count, QuerySet
from django.utils import timezone

from audit.models import AuditEvent
from projects.models import Project
from tasks.models import Task, TaskStatus

# Statuses in the order a task moves through them (progress bar segments).
STATUS_ORDER = [
    TaskStatus.CREATED,
    TaskStatus.ASSIGNED,
    TaskStatus.IN_PROGRESS,
    TaskStatus.RETURNED,
    TaskStatus.SUBMITTED,
    TaskStatus.REVIEWED,
    TaskStatus.COMPLETED,
    TaskStatus.SKIPPED,
]


@dataclass
class TaskCounts:
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def completed(self) -> int:
        return self.by_status.get(TaskStatus.COMPLETED, 0)

    @property
    def percent_complete(self) -> int:
        total = self.total
        return round(100 * self.completed / total) if total else 0

    @property
    def segments(self) -> list[dict]:
        """Non-empty statuses with their share of the bar (percent), in lifecycle order."""
        total = self.total
        if not total:
            return []
        return [
            {
                "status": s.value,
                "label": s.label,
                "count": self.by_status[s],
                "percent": 100 * self.by_status[s] / total,
            }
            for s in STATUS_ORDER
            if self.by_status.get(s)
        ]


def projects_for_list(organization) -> QuerySet[Project]:
    return (
        Project.objects.for_organization(organization)
        .annotate(label_count=Count("labels", distinct=True))
        .select_related("created_by")
        .order_by("-created_at", "-id")
    )


def attach_task_counts(projects: list[Project]) -> list[Project]:
    """Set ``project.task_counts`` on each project with one query for the whole page."""
    counts: dict[int, TaskCounts] = {p.pk: TaskCounts() for p in projects}
    rows = (
        Task.objects.filter(project_id__in=list(counts))
        .values_list("project_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for project_id, status, n in rows:
        counts[project_id].by_status[status] = n
    for project in projects:
        project.task_counts = counts[project.pk]
    return projects


def project_content_summary(project: Project) -> list[str]:
    """What deleting the project destroys, in the user's words (for the confirm dialog)."""
    from annotations.models import Annotation
    from media.models import Asset
    from tasks.models import Batch

    def plural(n: int, word: str, words: str = "") -> str:
        return f"{n} {word if n == 1 else (words or word + 's')}"

    labels = project.labels.count()
    tasks = Task.objects.filter(project=project).count()
    batches = Batch.objects.filter(project=project).count()
    annotations = Annotation.objects.filter(project=project).count()
    assets = Asset.objects.filter(project=project).count()
    return [
        plural(labels, "label class", "label classes"),
        plural(batches, "batch", "batches"),
        plural(tasks, "task"),
        plural(annotations, "annotation"),
        plural(assets, "media file") + " in storage",
        "its history and comments",
    ]


def audit_events(
    organization,
    *,
    action: str = "",
    actor_id: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.for_organization(organization).select_related("actor")
    if action:
        events = events.filter(action=action)
    if actor_id:
        events = events.filter(actor_id=actor_id)
    zone = timezone.get_current_timezone()
    if date_from:
        events = events.filter(created_at__gte=datetime.combine(date_from, time.min, tzinfo=zone))
    if date_to:
        events = events.filter(created_at__lte=datetime.combine(date_to, time.max, tzinfo=zone))
    return events


def audit_actions(organization) -> list[str]:
    return list(
        AuditEvent.objects.for_organization(organization).order_by("action").values_list("action", flat=True).distinct()
    )
