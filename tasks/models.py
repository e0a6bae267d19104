"""Batches, tasks, their lifecycle and comments.

The allowed status moves live in ``TRANSITIONS`` (one place); services check every move
against it and record it as a ``TaskTransition``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from organizations.tenancy import TenantModel


class TaskStatus(models.TextChoices):
    CREATED = "created", "Created"
    ASSIGNED = "assigned", "Assigned"
    IN_PROGRESS = "in_progress", "In progress"
    SUBMITTED = "submitted", "Submitted"
    REVIEWED = "reviewed", "Reviewed"
    COMPLETED = "completed", "Completed"
    RETURNED = "returned", "Returned"
    SKIPPED = "skipped", "Skipped"


S = TaskStatus
# from -> allowed destinations. Managers may also reopen finished work (-> in_progress / created).
TRANSITIONS: dict[str, frozenset[str]] = {
    S.CREATED: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.SKIPPED}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS, S.CREATED, S.SKIPPED}),
    S.IN_PROGRESS: frozenset({S.SUBMITTED, S.SKIPPED, S.CREATED, S.ASSIGNED}),
    S.SUBMITTED: frozenset({S.REVIEWED, S.RETURNED, S.COMPLETED, S.IN_PROGRESS}),
    S.REVIEWED: frozenset({S.COMPLETED, S.RETURNED}),
    S.COMPLETED: frozenset({S.IN_PROGRESS, S.RETURNED}),
    S.RETURNED: frozenset({S.IN_PROGRESS, S.SUBMITTED, S.SKIPPED}),
    S.SKIPPED: frozenset({S.CREATED, S.IN_PROGRESS, S.ASSIGNED}),
}


class Tag(TenantModel):
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="tag_name_unique_in_org")]

    def __str__(self) -> str:
        return self.name


class Batch(TenantModel):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="batches")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="batch_name_unique_in_project")]

    def __str__(self) -> str:
        return self.name


class Task(TenantModel):
    """One unit of work: an image, a video, a DICOM series, a sequence of images, a text."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="tasks")
    batch = models.ForeignKey(Batch, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    name = models.CharField(max_length=500)
    status = models.CharField(max_length=20, choices=TaskStatus.choices, default=TaskStatus.CREATED)
    priority = models.IntegerField(default=0, help_text="Higher first (FastLabel: none 0, low 10, medium 20, high 30).")
    tags = models.ManyToManyField(Tag, blank=True, related_name="tasks")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_tasks"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="review_tasks"
    )
    # Who may write to the task right now, and until when (30-minute locks, renewable).
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="locked_tasks"
    )
    lock_expires_at = models.DateTimeField(null=True, blank=True)
    # Bumped on every change of the task's annotation set (stale writes get 409).
    annotation_revision = models.PositiveIntegerField(default=0)
    # Text projects: the text to annotate.
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-priority", "created_at", "id"]
        indexes = [
            models.Index(fields=["project", "status", "-priority", "created_at"], name="task_claim_order"),
            models.Index(fields=["project", "updated_at"], name="task_project_updated"),
            models.Index(fields=["locked_by", "lock_expires_at"], name="task_lock_holder"),
        ]

    def __str__(self) -> str:
        return self.name


class TaskTransition(TenantModel):
    """Every status move: who, when, from what, to what, why."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=20, choices=TaskStatus.choices)
    to_status = models.CharField(max_length=20, choices=TaskStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True, max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]


class Comment(TenantModel):
    """A comment on a task, optionally pinned to a frame and position or to an annotation."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(max_length=10000)
    frame_index = models.PositiveIntegerField(null=True, blank=True)
    position = models.JSONField(null=True, blank=True, help_text='{"x": px, "y": px} on the frame')
    annotation = models.ForeignKey(
        "annotations.Annotation", null=True, blank=True, on_delete=models.SET_NULL, related_name="comments"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
