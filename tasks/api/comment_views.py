"""Comments on tasks (``/tasks/{id}/comments``) and on their own (``/comments/{id}``)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from organizations.api.base import TenantViewSet
from tasks.api.lookups import annotation_on
from tasks.api.serializers import CommentCreateSerializer, CommentSerializer
from tasks.models import Comment, Task
from tasks.services import comments as comment_services


class TaskCommentViewSet(TenantViewSet):
    model = Task
    serializer_class = CommentSerializer
    required_permissions = {"comments": "project.view", "add_comment": "comment.create"}

    @extend_schema(
        parameters=[
            OpenApiParameter("resolved", bool, description="Only resolved (true) or open (false) comments"),
            OpenApiParameter("frame_index", int, description="Only comments pinned to this frame"),
        ],
        responses=CommentSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def comments(self, request, pk=None):
        """The task's comments, oldest first (paged)."""
        task = self.get_object()
        rows = Comment.objects.for_organization(request.organization).filter(task=task)
        resolved = request.query_params.get("resolved", "")
        if resolved not in ("", "true", "false"):
            raise ValidationError({"resolved": [f"Must be true or false, got {resolved!r}."]})
        if resolved:
            rows = rows.filter(resolved_at__isnull=resolved == "false")
        frame = request.query_params.get("frame_index", "")
        if frame and not (frame.isascii() and frame.isdigit()):
            raise ValidationError({"frame_index": [f"Must be a frame index (0 or more), got {frame!r}."]})
        if frame:
            rows = rows.filter(frame_index=int(frame))
        rows = rows.select_related("author", "resolved_by").order_by("created_at", "id")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(CommentSerializer(page, many=True).data)

    @extend_schema(request=CommentCreateSerializer, responses={201: CommentSerializer})
    @comments.mapping.post
    def add_comment(self, request, pk=None):
        """Comment on the task, optionally pinned to a frame and a position ({"x", "y"} in
        pixels of that frame) or to an annotation of the same task."""
        task = self.get_object()
        serializer = CommentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        annotation = annotation_on(task, data.pop("annotation_id", None))
        comment = comment_services.add_comment(actor=request.user, task=task, annotation=annotation, **data)
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class CommentViewSet(mixins.RetrieveModelMixin, TenantViewSet):
    model = Comment
    serializer_class = CommentSerializer
    required_permissions = {"retrieve": "project.view", "resolve": "comment.create", "unresolve": "comment.create"}

    def scope_queryset(self, queryset):
        return queryset.select_related("author", "resolved_by")

    @extend_schema(request=None, responses=CommentSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """Mark the comment resolved."""
        comment = comment_services.resolve_comment(actor=request.user, comment=self.get_object())
        return Response(CommentSerializer(comment).data)

    @extend_schema(request=None, responses=CommentSerializer)
    @action(detail=True, methods=["post"])
    def unresolve(self, request, pk=None):
        """Open the comment again."""
        comment = comment_services.unresolve_comment(actor=request.user, comment=self.get_object())
        return Response(CommentSerializer(comment).data)
