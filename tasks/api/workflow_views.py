"""Working on tasks: next task / next review (claims with 30-minute locks), renew and release
a lock, approve, return, complete, skip, manager moves, and the status history."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.response import Response

from annotator.api.serializers import MessageSerializer
from organizations.api.base import TenantAPIView, TenantViewSet
from organizations.roles import roles_with
from tasks.api.lookups import annotation_on, batch_in, project_in
from tasks.api.serializers import (
    ApproveSerializer,
    ClaimSerializer,
    LockSerializer,
    ReasonSerializer,
    ReturnSerializer,
    TaskDetailSerializer,
    TransitionRequestSerializer,
    TransitionSerializer,
)
from tasks.models import Task, TaskStatus
from tasks.selectors import with_relations
from tasks.services import claims, review

NOTHING_TO_CLAIM = OpenApiResponse(description="Nothing is available to you in this project (or batch) right now.")
ERRORS = {
    404: MessageSerializer,
    409: OpenApiResponse(MessageSerializer, description="Illegal move: names current_status and allowed."),
    423: OpenApiResponse(MessageSerializer, description="Someone else holds the lock (locked_by, lock_expires_at)."),
}


def _detail(task: Task) -> dict:
    return TaskDetailSerializer(with_relations(Task.objects.filter(pk=task.pk)).get()).data


def _claim_response(task: Task | None) -> Response:
    if task is None:
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(_detail(task))


def _claim_scope(request):
    serializer = ClaimSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    project = project_in(request.organization, serializer.validated_data["project_id"])
    return project, batch_in(project, serializer.validated_data.get("batch_id"))


class TaskWorkflowViewSet(TenantViewSet):
    model = Task
    serializer_class = TaskDetailSerializer
    pagination_class = None
    required_permissions = {
        "next": "task.annotate",
        "lock": "project.view",  # only the holder may renew (checked by the service)
        "release_lock": "project.view",  # the holder, or a manager (task.manage) breaking it
        "approve": "task.review",
        "return_to_annotator": "task.review",
        "complete": "task.complete",
        "skip": "task.annotate",
        "transition": "task.manage",
        "transitions": "project.view",
    }

    def scope_queryset(self, queryset):
        return queryset.select_related("locked_by", "project")

    @extend_schema(
        request=ClaimSerializer,
        responses={200: TaskDetailSerializer, 204: NOTHING_TO_CLAIM, 404: MessageSerializer},
    )
    @action(detail=False, methods=["post"])
    def next(self, request):
        """Claim the next task to annotate: locked to you for 30 minutes and moved to
        ``in_progress``. Asking again returns the same task while your lock lives. Order:
        tasks returned to you, then highest priority, then oldest; tasks assigned to someone
        else are never handed out. 204 when nothing is available."""
        project, batch = _claim_scope(request)
        return _claim_response(claims.claim_next_task(user=request.user, project=project, batch=batch))

    @extend_schema(request=None, responses={200: LockSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="lock")
    def lock(self, request, pk=None):
        """Renew your lock for another 30 minutes from now (only the holder)."""
        task = claims.renew_task_lock(task=self.get_object(), user=request.user)
        return Response(LockSerializer(task).data)

    @extend_schema(request=None, responses={204: None, **ERRORS})
    @lock.mapping.delete
    def release_lock(self, request, pk=None):
        """Release the lock now: the holder, or a manager breaking someone's lock. An unfinished
        task goes back to the queue it came from. Releasing a free task does nothing."""
        claims.release_task_lock(task=self.get_object(), user=request.user, force=request.membership.can("task.manage"))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=ApproveSerializer, responses={200: TaskDetailSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve a submitted task you hold for review (→ reviewed, or completed when the project
        completes approved tasks automatically)."""
        serializer = ApproveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = review.approve_task(actor=request.user, task=self.get_object(), **serializer.validated_data)
        return Response(_detail(task))

    @extend_schema(request=ReturnSerializer, responses={200: TaskDetailSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="return")
    def return_to_annotator(self, request, pk=None):
        """Return the task to its annotator with a comment saying what to fix (→ returned; first
        in their queue). A submitted task needs your review lock; managers may also return
        reviewed or completed tasks."""
        task = self.get_object()
        if task.status in (TaskStatus.REVIEWED, TaskStatus.COMPLETED) and not request.membership.can("task.complete"):
            raise exceptions.PermissionDenied(
                f"Your role ({request.membership.role}) may not send back {task.status} tasks; "
                f"that needs: {', '.join(roles_with('task.complete'))}."
            )
        serializer = ReturnSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        annotation = annotation_on(task, data.pop("annotation_id", None))
        task, _ = review.return_task(actor=request.user, task=task, annotation=annotation, **data)
        return Response(_detail(task))

    @extend_schema(request=ReasonSerializer, responses={200: TaskDetailSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """Accept a reviewed task as completed (managers)."""
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = review.complete_task(actor=request.user, task=self.get_object(), **serializer.validated_data)
        return Response(_detail(task))

    @extend_schema(request=ReasonSerializer, responses={200: TaskDetailSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def skip(self, request, pk=None):
        """Skip the task you hold (→ skipped; your lock ends)."""
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = review.skip_task(actor=request.user, task=self.get_object(), **serializer.validated_data)
        return Response(_detail(task))

    @extend_schema(request=TransitionRequestSerializer, responses={200: TaskDetailSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        """Move a task to another status (managers: reopen, reset, skip...). The allowed moves
        are the task's ``allowed_transitions``; anything else is 409."""
        serializer = TransitionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = review.change_status(
            actor=request.user,
            task=self.get_object(),
            to_status=serializer.validated_data["status"],
            reason=serializer.validated_data["reason"],
        )
        return Response(_detail(task))

    @extend_schema(responses=TransitionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def transitions(self, request, pk=None):
        """Every status move of the task: who, when, from, to, why (oldest first)."""
        rows = self.get_object().transitions.select_related("actor").order_by("created_at", "id")
        return Response(TransitionSerializer(rows, many=True).data)


class ReviewQueueView(TenantAPIView):
    required_permissions = {"post": "task.review"}

    @extend_schema(
        request=ClaimSerializer,
        responses={200: TaskDetailSerializer, 204: NOTHING_TO_CLAIM, 404: MessageSerializer},
    )
    def post(self, request):
        """Claim the next submitted task to review, locked to you for 30 minutes (it stays
        ``submitted``). Asking again returns the same task while your lock lives. With the
        project's ``reviewer_must_differ`` you never get a task you annotated; tasks with
        another reviewer assigned are never handed out. 204 when nothing is waiting."""
        project, batch = _claim_scope(request)
        return _claim_response(claims.claim_next_review(user=request.user, project=project, batch=batch))
