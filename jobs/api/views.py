from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from jobs import services
from jobs.api.serializers import JobSerializer
from jobs.models import Job
from organizations.api.base import TenantViewSet


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Background jobs of the organization, with their progress (also pushed on /ws/events/)."""

    model = Job
    serializer_class = JobSerializer
    required_permissions = {"list": "project.view", "retrieve": "project.view", "cancel": "project.view"}
    filterset_fields = ["kind", "status", "project"]
    ordering_fields = ["created_at", "finished_at"]
    ordering = ["-created_at"]

    def scope_queryset(self, queryset):
        return queryset.select_related("created_by")

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Ask a running job to stop (its creator or a manager)."""
        job = self.get_object()
        if job.created_by_id != request.user.pk and not request.membership.can("project.change"):
            raise exceptions.PermissionDenied("Only the job's creator or a manager may cancel it.")
        services.request_cancel(job)
        return Response(JobSerializer(job).data)
