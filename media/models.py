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

from jobs.models import Job
from organizations.tenancy import TenantManager, TenantModel


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


class ImportOutcome(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REFUSED = "refused", "Refused"
    DUPLICATE = "duplicate", "Duplicate"
    EXPANDED = "expanded", "Archive expanded"


IMPORT_JOB_KIND = "import"


class ImportJobManager(TenantManager):
    def get_queryset(self):
        return super().get_queryset().filter(kind=IMPORT_JOB_KIND)


class ImportJob(Job):
    """An import (a ``jobs.Job`` of kind ``import``): the import history of a project."""

    objects = ImportJobManager()

    class Meta:
        proxy = True
        ordering = ["-created_at", "-id"]
        verbose_name = "import"


class ImportFile(TenantModel):
    """One file of an import and what became of it (accepted, refused with a reason, duplicate)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="import_files")
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="import_files")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=1000, help_text="Path of the file as uploaded (folders kept).")
    size_bytes = models.BigIntegerField(default=0)
    stored_path = models.CharField(max_length=1000, blank=True, help_text="Where the bytes are in storage.")
    owned = models.BooleanField(
        default=True, help_text="We wrote the stored file (deleted when refused); False for registered files."
    )
    upload = models.ForeignKey("media.Upload", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="members", help_text="Its archive."
    )
    is_archive = models.BooleanField(default=False)
    detected_type = models.CharField(max_length=40, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=20, choices=ImportOutcome.choices, default=ImportOutcome.PENDING)
    code = models.CharField(max_length=40, blank=True, help_text="Machine reason code for refusals.")
    reason = models.TextField(blank=True)
    task = models.ForeignKey("tasks.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job_id", "position", "id"]
        indexes = [models.Index(fields=["job", "outcome"], name="import_file_job_outcome")]

    def __str__(self) -> str:
        return self.name


class UploadStatus(models.TextChoices):
    OPEN = "open", "Receiving chunks"
    COMPLETE = "complete", "All bytes received"
    IMPORTED = "imported", "Handed to an import"
    ABORTED = "aborted", "Aborted"


class Upload(TenantModel):
    """A resumable upload of one large file: created, then sent in chunks at offsets."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="uploads")
    filename = models.CharField(max_length=1000, help_text="Name, optionally with folders (grouping).")
    size_bytes = models.BigIntegerField(help_text="Declared total length.")
    offset = models.BigIntegerField(default=0, help_text="Bytes received so far.")
    chunk_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, choices=UploadStatus.choices, default=UploadStatus.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.filename
