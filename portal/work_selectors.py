"""Read paths of the project work pages (tasks table, batches, imports, exports, models),
scoped to one project or organization. The task filters are the API's own (``TaskFilter``)."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from projects.models import Project
from tasks.api.filters import TaskFilter
from tasks.models import Batch, Task, TaskStatus

# Sortable columns of the tasks table (the API's ordering fields) and the default queue order.
TASK_ORDERINGS = ["priority", "name", "status", "created_at", "updated_at", "submitted_at", "id"]
DEFAULT_TASK_ORDER = ["-priority", "created_at", "id"]


def task_table(project: Project, params) -> tuple[QuerySet[Task], TaskFilter, str]:
    """The project's tasks filtered by ``params`` (the API's filter names) and sorted by
    ``params['sort']`` (a column, ``-`` for descending). Returns (tasks, filterset, sort)."""
    base = Task.objects.filter(project=project).select_related("batch", "assignee", "reviewer", "locked_by")
    filterset = TaskFilter(params, queryset=base.prefetch_related("tags"))
    tasks = filterset.qs if filterset.is_valid() else base.none()
    sort = params.get("sort", "")
    if sort.lstrip("-") in TASK_ORDERINGS:
        tasks = tasks.order_by(sort, "id")
    else:
        sort = ""
        tasks = tasks.order_by(*DEFAULT_TASK_ORDER)
    return tasks, filterset, sort


def batches_with_counts(project: Project) -> list[Batch]:
    return list(Batch.objects.filter(project=project).annotate(task_count=Count("tasks")).order_by("created_at", "id"))


def review_queue(project: Project) -> QuerySet[Task]:
    """Submitted tasks, in the order reviewers are handed them."""
    return (
        Task.objects.filter(project=project, status=TaskStatus.SUBMITTED)
        .select_related("annotator", "reviewer", "locked_by", "batch")
        .order_by("-priority", "submitted_at", "id")
    )


def project_imports(project: Project, limit: int = 20):
    from media.models import ImportJob
    from media.selectors import import_counts

    jobs = list(ImportJob.objects.filter(project=project).select_related("created_by").order_by("-created_at")[:limit])
    for job in jobs:
        job.counts = import_counts(job)
    return jobs


def project_exports(project: Project, limit: int = 30):
    from exports.selectors import exports_for_project

    return list(exports_for_project(project).select_related("job", "created_by")[:limit])


def members_who(organization, permission: str):
    """Members holding a permission (assignee / reviewer pickers)."""
    from organizations.models import Membership
    from organizations.roles import PERMISSIONS

    roles = PERMISSIONS[permission][1]
    return list(
        Membership.objects.filter(organization=organization, role__in=roles)
        .select_related("user")
        .order_by("user__username")
    )
