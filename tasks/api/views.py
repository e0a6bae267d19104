"""Managing tasks: create, read, change, delete, list with filters, count, id→name map and
bulk changes. Claiming, locks and review moves are in ``workflow_views``."""

from __future__ import annotations

from django.db.models import Count
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from organizations.api.base import ProjectChildViewSet, TenantAPIView, TenantViewSet
from tasks.api.filters import TaskFilter
from tasks.api.lookups import batch_anywhere, batch_in, project_in
from tasks.api.serializers import (
    BatchSerializer,
    BatchWriteSerializer,
    BulkResultSerializer,
    CountSerializer,
    ProgressSerializer,
    TagSerializer,
    TaskBulkUpdateSerializer,
    TaskCreateSerializer,
    TaskDetailSerializer,
    TaskSerializer,
    TaskUpdateSerializer,
)
from tasks.models import Batch, Tag, Task
from tasks.selectors import project_progress, with_relations
from tasks.services import tasks as task_services

MAP_MAX = 100_000


class TaskViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, TenantViewSet
):
    """Tasks of the organization. Every member may read them (``project.view``); managers
    create, change, delete and bulk-change them."""

    model = Task
    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    ordering_fields = ["priority", "created_at", "updated_at", "submitted_at", "completed_at", "name", "status", "id"]
    ordering = ["-priority", "created_at", "id"]
    required_permissions = {
        "list": "project.view",
        "retrieve": "project.view",
        "count": "project.view",
        "id_name_map": "project.view",
        "create": "task.manage",
        "partial_update": "task.manage",
        "destroy": "task.manage",
        "bulk": "task.manage",
    }

    def scope_queryset(self, queryset):
        if self.action in ("count", "id_name_map"):
            return queryset
        return with_relations(queryset)

    def get_serializer_class(self):
        return TaskDetailSerializer if self.action == "retrieve" else TaskSerializer

    def _detail(self, task: Task) -> dict:
        return TaskDetailSerializer(with_relations(Task.objects.filter(pk=task.pk)).get()).data

    @extend_schema(request=TaskCreateSerializer, responses={201: TaskDetailSerializer})
    def create(self, request):
        """Create a task (a text task carries its ``text``; media ingest creates the others)."""
        serializer = TaskCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        project = project_in(request.organization, data.pop("project_id"))
        org_id = project.organization_id
        task = task_services.create_task(
            actor=request.user,
            project=project,
            batch=batch_in(project, data.pop("batch_id", None)),
            assignee=task_services.member_for(org_id, data.pop("assignee_id", None), field="assignee"),
            reviewer=task_services.member_for(org_id, data.pop("reviewer_id", None), field="reviewer"),
            **data,
        )
        return Response(self._detail(task), status=status.HTTP_201_CREATED)

    @extend_schema(request=TaskUpdateSerializer, responses=TaskDetailSerializer)
    def partial_update(self, request, pk=None):
        """Rename, re-prioritise, re-tag, move to a batch, assign or change the text of a task."""
        task = self.get_object()
        serializer = TaskUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if "batch_id" in changes:
            changes["batch"] = batch_in(task.project, changes.pop("batch_id"))
        for field in ("assignee", "reviewer"):
            if f"{field}_id" in changes:
                changes[field] = task_services.member_for(task.organization_id, changes.pop(f"{field}_id"), field=field)
        task = task_services.update_task(actor=request.user, task=task, **changes)
        return Response(self._detail(task))

    def perform_destroy(self, instance):
        task_services.delete_task(actor=self.request.user, task=instance)

    @extend_schema(responses=CountSerializer)
    @action(detail=False, methods=["get"])
    def count(self, request):
        """How many tasks match the same filters as the list."""
        return Response({"count": self.filter_queryset(self.get_queryset()).count()})

    @extend_schema(
        parameters=[
            OpenApiParameter("limit", int, description=f"1-{MAP_MAX} (default {MAP_MAX})"),
            OpenApiParameter("offset", int, description="Skip this many (by id)"),
        ],
        responses={200: {"type": "object", "additionalProperties": {"type": "string"}}},
    )
    @action(detail=False, methods=["get"], url_path="id-name-map", pagination_class=None)
    def id_name_map(self, request):
        """``{"<task id>": "<task name>"}`` for the tasks matching the list's filters, by id."""
        limit = _bounded_int(request, "limit", MAP_MAX, 1, MAP_MAX)
        offset = _bounded_int(request, "offset", 0, 0, 2**62)
        queryset = self.filter_queryset(self.get_queryset()).order_by("id")
        rows = queryset.values_list("id", "name")[offset : offset + limit]
        return Response({str(pk): name for pk, name in rows})

    @extend_schema(request=TaskBulkUpdateSerializer, responses=BulkResultSerializer)
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        """Assign, set the reviewer, set the priority, move to a batch, add or remove tags for up
        to 1,000 tasks at once (all or nothing)."""
        serializer = TaskBulkUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        task_ids = data.pop("task_ids")
        org_id = request.organization.pk
        if "batch_id" in data:
            data["batch"] = batch_anywhere(request.organization, data.pop("batch_id"))
        for field in ("assignee", "reviewer"):
            if f"{field}_id" in data:
                data[field] = task_services.member_for(org_id, data.pop(f"{field}_id"), field=field)
        updated = task_services.bulk_update_tasks(
            actor=request.user, organization=request.organization, task_ids=task_ids, **data
        )
        return Response({"updated": updated})


def _bounded_int(request, name: str, default: int, minimum: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: [f"Must be an integer, got {raw!r}."]}) from None
    if not minimum <= value <= maximum:
        raise ValidationError({name: [f"Must be between {minimum} and {maximum}, got {value}."]})
    return value


class BatchViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    ProjectChildViewSet,
):
    """Batches of a project (groups of tasks)."""

    model = Batch
    serializer_class = BatchSerializer
    filterset_fields = {"name": ["exact", "icontains"]}
    ordering_fields = ["created_at", "name", "id"]
    ordering = ["created_at", "id"]
    required_permissions = {
        "list": "project.view",
        "retrieve": "project.view",
        "create": "task.manage",
        "partial_update": "task.manage",
        "destroy": "task.manage",
    }

    def scope_queryset(self, queryset):
        return queryset.annotate(task_count=Count("tasks"))

    def _out(self, batch: Batch) -> dict:
        return BatchSerializer(self.get_queryset().get(pk=batch.pk)).data

    @extend_schema(request=BatchWriteSerializer, responses={201: BatchSerializer})
    def create(self, request, project_pk=None):
        serializer = BatchWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        batch = task_services.create_batch(actor=request.user, project=self.get_project(), **serializer.validated_data)
        return Response(self._out(batch), status=status.HTTP_201_CREATED)

    @extend_schema(request=BatchWriteSerializer, responses=BatchSerializer)
    def partial_update(self, request, project_pk=None, pk=None):
        serializer = BatchWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        batch = task_services.update_batch(actor=request.user, batch=self.get_object(), **serializer.validated_data)
        return Response(self._out(batch))

    @extend_schema(responses={204: None})
    def destroy(self, request, project_pk=None, pk=None):
        """Delete the batch; its tasks stay in the project, without a batch."""
        task_services.delete_batch(actor=request.user, batch=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class TagViewSet(mixins.ListModelMixin, TenantViewSet):
    """The organization's task tags (created by tagging tasks)."""

    model = Tag
    serializer_class = TagSerializer
    filterset_fields = {"name": ["exact", "icontains"]}
    ordering = ["name"]
    required_permissions = {"list": "project.view"}


class ProjectProgressView(TenantAPIView):
    """Managers' view of a project's progress."""

    required_permissions = {"get": "task.manage"}

    def resolve_objects(self) -> None:
        self.project = project_in(self.request.organization, self.kwargs["project_pk"])

    @extend_schema(responses=ProgressSerializer)
    def get(self, request, project_pk=None):
        """Counts by status for the project, per batch and per person, with time spent
        annotating and reviewing (derived from lock history)."""
        return Response(project_progress(self.project))
