"""SAM 2.1 endpoints: status, click/box → masks, embedding warm-up, propagation chains."""

from __future__ import annotations

import time

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from annotator.api.serializers import MessageSerializer
from ml.api import serializers as s
from ml.models import PropagationRun
from ml.services import propagation, sam
from organizations.api.base import TenantAPIView, TenantViewSet, is_valid_id
from tasks.models import Task


def task_of(request, task_id: int) -> Task:
    """A task named in the body, looked up in the caller's organization (404 otherwise)."""
    task = (
        Task.objects.for_organization(request.organization).select_related("project").filter(pk=task_id).first()
        if is_valid_id(task_id)
        else None
    )
    if task is None:
        raise Http404(f"No task with id {task_id}.")
    return task


class SamStatusView(TenantAPIView):
    """Whether SAM 2.1 is configured (the portal hides the AI tools, with this message, when not)."""

    required_permissions = {"get": "ai.assist"}

    @extend_schema(responses=s.SamStatusSerializer)
    def get(self, request):
        return Response(sam.sam_status())


class SamMaskView(TenantAPIView):
    """Click points (positive/negative) and/or a box on a task's frame → masks with scores."""

    required_permissions = {"post": "ai.assist"}

    @extend_schema(
        request=s.MaskRequestSerializer,
        responses={
            200: s.MaskResponseSerializer,
            400: MessageSerializer,
            404: MessageSerializer,
            503: OpenApiResponse(MessageSerializer, description="SAM not configured, or the ML worker is busy."),
        },
    )
    def post(self, request):
        started = time.perf_counter()
        serializer = s.MaskRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sam.require_sam()
        task = task_of(request, data["task_id"])
        result = sam.request_masks(
            task=task,
            frame_index=data["frame_index"],
            points=data["points"],
            point_labels=data["point_labels"],
            box=data.get("box"),
            multimask_output=data["multimask_output"],
            include_polygons=data["include_polygons"],
        )
        result["timing"]["total_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return Response(result)


class SamEmbeddingView(TenantAPIView):
    """Compute a frame's embedding ahead of the first click (answers at once)."""

    required_permissions = {"post": "ai.assist"}

    @extend_schema(request=s.EmbeddingRequestSerializer, responses={202: None, 503: MessageSerializer})
    def post(self, request):
        serializer = s.EmbeddingRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sam.require_sam()
        task = task_of(request, serializer.validated_data["task_id"])
        sam.request_embedding(task=task, frame_index=serializer.validated_data["frame_index"])
        return Response(status=status.HTTP_202_ACCEPTED)


class PropagationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """SAM 2.1 propagation runs; each is the chain of the annotations it wrote.

    Progress and cancel go through the run's job (``/api/v1/jobs/{job}``, ``/ws/events/``).
    """

    model = PropagationRun
    serializer_class = s.PropagationSerializer
    required_permissions = {
        "list": "ai.assist",
        "retrieve": "ai.assist",
        "create": "ai.assist",
        "destroy": "ai.assist",
        "clear": "ai.assist",
    }
    filterset_fields = ["task", "project"]
    ordering_fields = ["created_at"]
    ordering = ["-created_at"]

    def scope_queryset(self, queryset):
        return queryset.select_related("job", "job__created_by", "created_by")

    @extend_schema(
        request=s.PropagationCreateSerializer,
        responses={
            202: s.PropagationSerializer,
            409: OpenApiResponse(
                MessageSerializer, description="A propagation of one of these objects is still running."
            ),
        },
    )
    def create(self, request):
        """Propagate objects' masks from a reference frame (forward, backward or a range)."""
        serializer = s.PropagationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sam.require_sam()
        task = task_of(request, data["task_id"])
        run = propagation.start_propagation(
            actor=request.user,
            task=task,
            reference_frame=data["reference_frame"],
            object_ids=data["object_ids"],
            direction=data["direction"],
            start_frame=data.get("start_frame"),
            end_frame=data.get("end_frame"),
            replace_previous=data["replace_previous"],
        )
        return Response(s.PropagationSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: s.ClearedSerializer, 409: MessageSerializer})
    @action(detail=True, methods=["post"])
    def clear(self, request, pk=None):
        """Remove exactly this chain's annotations (manual and other AI shapes stay)."""
        frames = propagation.clear_propagation(actor=request.user, run=self.get_object())
        return Response({"frames": frames})

    @extend_schema(responses={200: s.ClearedSerializer, 409: MessageSerializer})
    def destroy(self, request, pk=None):
        """Clear the chain and delete the run."""
        frames = propagation.delete_propagation(actor=request.user, run=self.get_object())
        return Response({"frames": frames})
