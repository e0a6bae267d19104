"""Exports and imports of a project's annotations, each run by a background job.

An ``Export`` records who asked for which format over which scope, and — once its job has
finished — where the archive lies on storage and how big it is. An ``Import`` records the
uploaded file, the options, and the per-file / per-shape report of what was accepted,
adapted or refused.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from organizations.tenancy import TenantModel


class Export(TenantModel):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="exports")
    job = models.OneToOneField("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="export")
    format = models.CharField(max_length=40, help_text="A name from exports.formats.FORMATS.")
    # Normalized scope: batch_id, statuses, task_ids, frame_start/frame_end (1-based,
    # inclusive), task_id + frame (the current frame), sources, split.
    scope = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True, help_text="Format options, validated by the format.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The result, once written.
    file_path = models.CharField(max_length=1000, blank=True, help_text="Storage path of the archive.")
    file_name = models.CharField(max_length=300, blank=True, help_text="Name offered to the downloader.")
    size_bytes = models.BigIntegerField(default=0)
    file_count = models.PositiveIntegerField(default=0)
    frame_count = models.PositiveIntegerField(default=0)
    annotation_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "-created_at"], name="export_project_recent")]

    def __str__(self) -> str:
        return f"{self.format} export #{self.pk}"

    @property
    def status(self) -> str:
        return self.job.status if self.job_id else "queued"

    @property
    def is_ready(self) -> bool:
        return bool(self.file_path) and self.status == "succeeded"


# Not "import": that kind is a media import (media.models.IMPORT_JOB_KIND), and the project's
# media import history lists every job of it.
ANNOTATION_IMPORT_JOB_KIND = "annotation_import"


class Import(TenantModel):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="imports")
    job = models.OneToOneField("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="import_run")
    format = models.CharField(max_length=40, help_text="A name from exports.importers.IMPORTERS.")
    options = models.JSONField(default=dict, blank=True)
    upload_path = models.CharField(max_length=1000, help_text="Storage path of the uploaded file or archive.")
    upload_name = models.CharField(max_length=300, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # {"files": [{"file", "status", "reason", "task_id", "frame", "shapes": [...]}], "totals": {...}}
    report = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "-created_at"], name="import_project_recent")]

    def __str__(self) -> str:
        return f"{self.format} import #{self.pk}"

    @property
    def status(self) -> str:
        return self.job.status if self.job_id else "queued"
