"""Annotations, their revisions, and AI predictions (candidates).

Geometry conventions (see ``annotations.geometry``): per-frame shapes are stored in pixel
coordinates of their frame (origin top-left, x right, y down, continuous: pixel (i, j)
covers [i, i+1) x [j, j+1)); ``video_bbox`` and ``video_track`` keep the task-platform
contract's normalized 0-1 boxes.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from organizations.tenancy import TenantModel
from projects.kinds import AnnotationType


class Source(models.TextChoices):
    MANUAL = "manual", "Manual"
    AI = "ai", "AI candidate"
    AI_ACCEPTED = "ai-accepted", "AI, accepted"
    PROPAGATED = "propagated", "Propagated (SAM)"
    IMPORTED = "imported", "Imported"


class Annotation(TenantModel):
    task = models.ForeignKey("tasks.Task", on_delete=models.CASCADE, related_name="annotations")
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    label = models.ForeignKey(
        "projects.LabelClass", null=True, blank=True, on_delete=models.PROTECT, related_name="annotations"
    )
    type = models.CharField(max_length=20, choices=AnnotationType.choices)
    # Frame of a per-frame shape (0 for single images); null for tracks and text spans.
    frame_index = models.PositiveIntegerField(null=True, blank=True)
    geometry = models.JSONField(default=dict)
    attributes = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Identity of an object across frames (a track id, a propagated object's id).
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    # The background job (e.g. a SAM propagation run) that wrote this annotation: its chain.
    produced_by = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="annotations"
    )
    # Where an ai-accepted shape came from.
    prediction = models.ForeignKey(
        "annotations.Prediction", null=True, blank=True, on_delete=models.SET_NULL, related_name="accepted"
    )
    prediction_shape_index = models.PositiveIntegerField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    model_version = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["task_id", "frame_index", "id"]
        indexes = [
            models.Index(fields=["task", "frame_index"], name="annotation_task_frame"),
            models.Index(fields=["project", "label"], name="annotation_project_label"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


class AnnotationRevision(TenantModel):
    """One revision of a task's annotation set: who, when, what changed, and a snapshot."""

    task = models.ForeignKey("tasks.Task", on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    action = models.CharField(max_length=40, help_text="draft, submit, restore, convert, compose, accept, ...")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.JSONField(default=dict, blank=True, help_text="added / removed / changed annotation ids")
    # Checkpoints hold the whole set; the revisions between them hold only what changed
    # (``delta``), so a long run of small edits does not store the set again and again.
    is_checkpoint = models.BooleanField(default=True)
    snapshot = models.JSONField(default=list, blank=True, help_text="The whole set (checkpoints only).")
    delta = models.JSONField(
        null=True, blank=True, help_text='Between checkpoints: {"upsert": [annotation, ...], "removed": [id, ...]}.'
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task_id", "number"]
        constraints = [models.UniqueConstraint(fields=["task", "number"], name="revision_number_unique_in_task")]


class Prediction(TenantModel):
    """Model output for a task: candidates (in our internal shape schema) with a score."""

    task = models.ForeignKey("tasks.Task", on_delete=models.CASCADE, related_name="predictions")
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    model_version = models.CharField(max_length=200)
    score = models.FloatField(null=True, blank=True)
    shapes = models.JSONField(default=list, help_text="Internal shapes, each with class_name and score.")
    raw = models.JSONField(null=True, blank=True, help_text="The original output, as received.")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class PredictionDecision(TenantModel):
    """An annotator's or reviewer's decision on one shape of a prediction."""

    class Decision(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    prediction = models.ForeignKey(Prediction, on_delete=models.CASCADE, related_name="decisions")
    shape_index = models.PositiveIntegerField()
    decision = models.CharField(max_length=10, choices=Decision.choices)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prediction", "shape_index"], name="one_decision_per_prediction_shape")
        ]
