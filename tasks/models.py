"""Batches, tasks, their lifecycle and comments.

The allowed status moves live in ``TRANSITIONS`` (one place); services check every move
against it and record it as a ``TaskTransition``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

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
# in_progress -> created/assigned/returned: a released or expired lock gives the task back to
# the queue it came from.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.CREATED: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.SKIPPED}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS, S.CREATED, S.SKIPPED}),
    S.IN_PROGRESS: frozenset({S.SUBMITTED, S.SKIPPED, S.CREATED, S.ASSIGNED, S.RETURNED}),
    S.SUBMITTED: frozenset({S.REVIEWED, S.RETURNED, S.COMPLETED, S.IN_PROGRESS}),
    S.REVIEWED: frozenset({S.COMPLETED, S.RETURNED}),
    S.COMPLETED: frozenset({S.IN_PROGRESS, S.RETURNED}),
    S.RETURNED: frozenset({S.IN_PROGRESS, S.SUBMITTED, S.SKIPPED}),
    S.SKIPPED: frozenset({S.CREATED, S.IN_PROGRESS, S.ASSIGNED}),
}

# What an annotator's next-task claim draws from (returned tasks come first, separately),
# and what a reviewer's claim draws from. The partial indexes below use the same tuples.
ANNOTATION_QUEUE: tuple[str, ...] = (S.CREATED, S.ASSIGNED, S.IN_PROGRESS)
REVIEW_QUEUE: tuple[str, ...] = (S.SUBMITTED,)


class LockPurpose(models.TextChoices):
    ANNOTATE = "annotate", "Annotate"
    REVIEW = "review", "Review"


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

    # Every update of a task rewrites each of its indexes (status and lock changes are never
    # HOT), so foreign keys whose lookups a composite index below already serves (project,
    # assignee, locked_by) carry no index of their own.
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="tasks", db_index=False)
    batch = models.ForeignKey(Batch, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    name = models.CharField(max_length=500)
    status = models.CharField(max_length=20, choices=TaskStatus.choices, default=TaskStatus.CREATED)
    priority = models.IntegerField(default=0, help_text="Higher first (FastLabel: none 0, low 10, medium 20, high 30).")
    tags = models.ManyToManyField(Tag, blank=True, related_name="tasks")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tasks",
        db_index=False,
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="review_tasks"
    )
    # Who may write to the task right now, and until when (30-minute locks, renewable).
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="locked_tasks",
        db_index=False,
    )
    lock_expires_at = models.DateTimeField(null=True, blank=True)
    # Who submitted the current annotations: reviewers must differ from them, and returned
    # work goes back to them.
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="annotated_tasks"
    )
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
            models.Index(fields=["assignee", "status"], name="task_assignee_status"),
            # The next-task and next-review claims walk these in queue order (LIMIT 1).
            models.Index(
                fields=["project", "-priority", "created_at", "id"],
                condition=models.Q(status__in=ANNOTATION_QUEUE),
                name="task_annotation_queue",
            ),
            models.Index(
                fields=["batch", "-priority", "created_at", "id"],
                condition=models.Q(status__in=ANNOTATION_QUEUE),
                name="task_batch_annotation_queue",
            ),
            models.Index(
                fields=["project", "-priority", "submitted_at", "id"],
                condition=models.Q(status__in=REVIEW_QUEUE),
                name="task_review_queue",
            ),
            # The expiry sweep: held locks by expiry time.
            models.Index(
                fields=["lock_expires_at"], condition=models.Q(locked_by__isnull=False), name="task_lock_expiry"
            ),
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

    def __str__(self) -> str:
        return f"task {self.task_id}: {self.from_status} → {self.to_status}"


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

    def __str__(self) -> str:
        return f"comment #{self.pk} on task {self.task_id}"


class TaskClaim(TenantModel):
    """One period during which a person held a task's lock: claimed, renewed, ended.

    The lock itself lives on the task row (``Task.locked_by``/``lock_expires_at``) so that a
    claim is one row update; this is its history, which time-spent reports are derived from.
    """

    class EndReason(models.TextChoices):
        RELEASED = "released", "Released by the holder"
        BROKEN = "broken", "Released by a manager"
        EXPIRED = "expired", "Expired"
        STATUS_CHANGED = "status_changed", "Ended by a status change (submit, approve, return, skip...)"
        TASK_CHANGED = "task_changed", "Ended because the task left the holder's queue"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="claims")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    purpose = models.CharField(max_length=10, choices=LockPurpose.choices)
    # Status the task had before the claim; a released or expired annotation claim restores it.
    status_before = models.CharField(max_length=20, choices=TaskStatus.choices)
    claimed_at = models.DateTimeField(default=timezone.now)
    last_renewed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)
    # For expired claims ended_at is the last sign of life (claim or renewal), not the expiry.

    class Meta:
        ordering = ["claimed_at", "id"]
        indexes = [
            models.Index(fields=["task", "ended_at"], name="claim_task_open"),
            models.Index(fields=["user", "claimed_at"], name="claim_user_time"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} claim of task {self.task_id}"
