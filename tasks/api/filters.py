from __future__ import annotations

import django_filters

from annotator.api.filters import BooleanFilter, IntegerFilter, IsoDateTimeFilter, StrictFilterSet
from tasks.models import Task, TaskStatus


class CharInFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    pass


class TaskFilter(StrictFilterSet):
    """Filters of ``GET /api/v1/tasks`` (also ``/count`` and ``/id-name-map``)."""

    project = IntegerFilter(field_name="project_id")
    batch = IntegerFilter(field_name="batch_id")
    no_batch = BooleanFilter(field_name="batch", lookup_expr="isnull", label="Tasks without a batch")
    status = django_filters.MultipleChoiceFilter(choices=TaskStatus.choices, label="Any of these statuses")
    tags = CharInFilter(method="filter_tags", label="Tasks carrying any of these tags (comma-separated)")
    assignee = IntegerFilter(field_name="assignee_id")
    unassigned = BooleanFilter(field_name="assignee", lookup_expr="isnull")
    reviewer = IntegerFilter(field_name="reviewer_id")
    annotator = IntegerFilter(field_name="annotator_id")
    name = django_filters.CharFilter(field_name="name", lookup_expr="exact")
    name__icontains = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")
    priority = IntegerFilter()
    priority__gte = IntegerFilter(field_name="priority", lookup_expr="gte")
    updated_since = IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Task
        fields: list[str] = []

    def filter_tags(self, queryset, name, value):
        names = [tag.strip() for tag in value if tag.strip()]
        if not names:
            return queryset
        # A subquery, not a join: a task with two matching tags is listed once.
        tagged = Task.tags.through.objects.filter(tag__name__in=names).values("task_id")
        return queryset.filter(pk__in=tagged)
