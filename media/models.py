"""Stored media and the frames tasks are made of.

An ``Asset`` is one stored file (an image, a video, a DICOM file, a text). A ``Frame`` is
one picture of a task in order: the only frame of an image task, each decoded frame of a
video (with its real timestamp), each slice of a DICOM series (a multi-frame file gives
several frames), each image of a sequence. Exporters, SAM and the workspace all address
pictures as (task, frame index).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from organizations.tenancy import TenantModel


class AssetKind(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"
    DICOM = "dicom", "DICOM"
    TEXT = "text", "Text"


class AssetStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Asset(TenantModel):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="assets")
    task = models.ForeignKey("tasks.Task", null=True, blank=True, on_delete=models.CASCADE, related_name="assets")
    position = models.PositiveIntegerField(default=0, help_text="Order of this file within its task.")
    kind = models.CharField(max_length=10, choices=AssetKind.choices)
    original_name = models.CharField(max_length=500)
    file = models.CharField(max_length=1000, help_text="Storage path of the original file.")
    size_bytes = models.BigIntegerField(default=0)
    content_hash = models.CharField(max_length=64, db_index=True, help_text="SHA-256 of the content.")
    mime_type = models.CharField(max_length=100, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    frame_count = models.PositiveIntegerField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True, help_text="video_metadata, DICOM tags, EXIF...")
    thumbnail_path = models.CharField(max_length=1000, blank=True)
    poster_path = models.CharField(max_length=1000, blank=True)
    playback_path = models.CharField(max_length=1000, blank=True)
    status = models.CharField(max_length=20, choices=AssetStatus.choices, default=AssetStatus.PENDING)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "content_hash"], name="asset_unique_content_in_project"),
        ]

    def __str__(self) -> str:
        return self.original_name


class Frame(TenantModel):
    task = models.ForeignKey("tasks.Task", on_delete=models.CASCADE, related_name="frames")
    index = models.PositiveIntegerField(help_text="0-based position of the frame in the task.")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="frames")
    asset_frame = models.PositiveIntegerField(default=0, help_text="Frame number inside the asset (video/multi-frame).")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # Video timetable (real timestamps; never frame / fps).
    pts_ms = models.FloatField(null=True, blank=True)
    is_keyframe = models.BooleanField(null=True, blank=True)
    pict_type = models.CharField(max_length=2, blank=True)
    byte_offset = models.BigIntegerField(null=True, blank=True)
    # DICOM slice position / instance number, where relevant.
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["task_id", "index"]
        constraints = [models.UniqueConstraint(fields=["task", "index"], name="frame_index_unique_in_task")]

    def __str__(self) -> str:
        return f"{self.task_id}:{self.index}"
