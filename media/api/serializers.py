from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotator.api.serializers import StrictSerializer
from media.models import ImportFile, ImportJob, Upload

ID = {"min_value": 1, "max_value": 2**63 - 1}


# --- imports -------------------------------------------------------------------------------
class ImportCountsSerializer(serializers.Serializer):
    files = serializers.IntegerField()
    accepted = serializers.IntegerField()
    refused = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    pending = serializers.IntegerField()
    tasks = serializers.IntegerField()


class ImportJobSerializer(serializers.ModelSerializer):
    """One import: who, when, status, counts per outcome, and the reasons of refusals."""

    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    project_id = serializers.IntegerField(read_only=True)
    source = serializers.SerializerMethodField()
    batch_id = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()
    timings = serializers.SerializerMethodField()
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "project_id",
            "status",
            "source",
            "batch_id",
            "counts",
            "progress_done",
            "progress_total",
            "message",
            "errors",
            "cancel_requested",
            "attempts",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
            "timings",
        ]
        read_only_fields = fields

    def get_source(self, job) -> str:
        return job.params.get("source", "")

    def get_batch_id(self, job) -> int | None:
        return job.params.get("batch_id")

    @extend_schema_field(ImportCountsSerializer)
    def get_counts(self, job) -> dict:
        keys = ("accepted", "refused", "duplicate", "pending")
        counts = {key: getattr(job, f"n_{key}", None) for key in keys}
        if any(value is None for value in counts.values()):
            from media.selectors import import_counts

            return import_counts(job)
        counts["files"] = sum(counts.values())
        counts["tasks"] = job.n_tasks
        return counts

    @extend_schema_field(serializers.DictField(child=serializers.FloatField()))
    def get_timings(self, job) -> dict:
        return job.result.get("timings", {}) if isinstance(job.result, dict) else {}


class ImportFileSerializer(serializers.ModelSerializer):
    task_id = serializers.IntegerField(read_only=True, allow_null=True)
    asset_id = serializers.IntegerField(read_only=True, allow_null=True)
    archive_id = serializers.IntegerField(source="parent_id", read_only=True, allow_null=True)

    class Meta:
        model = ImportFile
        fields = [
            "id",
            "name",
            "size_bytes",
            "detected_type",
            "content_hash",
            "is_archive",
            "archive_id",
            "outcome",
            "code",
            "reason",
            "task_id",
            "asset_id",
            "decided_at",
        ]
        read_only_fields = fields


class ImportUploadSerializer(StrictSerializer):
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, max_length=1000, use_url=False),
        min_length=1,
        help_text="One or many files (repeat the field). Archives (zip, tar, tar.gz) are expanded.",
    )
    paths = serializers.ListField(
        child=serializers.CharField(max_length=1000, allow_blank=True),
        required=False,
        help_text="Optional relative path of each file (same order), e.g. 'seq1/0001.png': folders group "
        "image sequences.",
    )
    batch_id = serializers.IntegerField(required=False, **ID)
    task_name = serializers.CharField(
        required=False, max_length=500, allow_blank=True, help_text="Name of the task for files outside folders."
    )


class RegisterSerializer(StrictSerializer):
    prefix = serializers.CharField(
        max_length=1000,
        allow_blank=True,
        help_text="Folder inside the organization's inbox (orgs/<org id>/inbox/ in the bucket); '' for all of it.",
    )
    batch_id = serializers.IntegerField(required=False, **ID)
    task_name = serializers.CharField(required=False, max_length=500, allow_blank=True)


class FromUploadsSerializer(StrictSerializer):
    upload_ids = serializers.ListField(child=serializers.IntegerField(**ID), min_length=1, max_length=20000)
    batch_id = serializers.IntegerField(required=False, **ID)
    task_name = serializers.CharField(required=False, max_length=500, allow_blank=True)


# --- resumable uploads ---------------------------------------------------------------------
class UploadSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    project_id = serializers.IntegerField(read_only=True)
    upload_url = serializers.SerializerMethodField()

    class Meta:
        model = Upload
        fields = [
            "id",
            "project_id",
            "filename",
            "size_bytes",
            "offset",
            "chunk_count",
            "status",
            "created_by",
            "created_at",
            "updated_at",
            "expires_at",
            "upload_url",
        ]
        read_only_fields = fields

    def get_upload_url(self, upload) -> str:
        return f"/api/v1/projects/{upload.project_id}/uploads/{upload.pk}"


class UploadCreateSerializer(StrictSerializer):
    filename = serializers.CharField(max_length=1000, help_text="Name; folders allowed ('series1/0001.dcm').")
    size = serializers.IntegerField(min_value=1, max_value=2**62, help_text="Total length in bytes.")


# --- task media ----------------------------------------------------------------------------
class StandardVideoMetadataSerializer(serializers.Serializer):
    """``video_metadata`` of the task-platform contract."""

    duration_ms = serializers.IntegerField()
    fps = serializers.FloatField()
    frame_count = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    codec = serializers.CharField()
    playback_path = serializers.CharField(allow_null=True)
    playback_codec = serializers.CharField(allow_null=True)
    poster_frame_path = serializers.CharField(allow_null=True)
    frame_timetable_frame_count = serializers.IntegerField()


class TimetableFrameSerializer(serializers.Serializer):
    frame_index = serializers.IntegerField()
    pts_ms = serializers.FloatField()
    is_keyframe = serializers.BooleanField()
    pict_type = serializers.CharField(allow_null=True)
    byte_offset = serializers.IntegerField(allow_null=True)


class FrameTimetableSerializer(serializers.Serializer):
    task_id = serializers.IntegerField()
    fps = serializers.FloatField(allow_null=True)
    frame_count = serializers.IntegerField(allow_null=True)
    source = serializers.CharField(help_text="'pyav' (decoded), 'pyav-demux' (picture types pending) or 'estimated'.")
    frames = TimetableFrameSerializer(many=True)


class VideoManifestSerializer(serializers.Serializer):
    task_id = serializers.IntegerField()
    status = serializers.CharField(help_text="processing until picture types / playback copy are done, then ready.")
    video_url = serializers.CharField(help_text="Playback copy when there is one, else the original. Short-lived.")
    video_content_type = serializers.CharField()
    original_url = serializers.CharField()
    poster_url = serializers.CharField(allow_null=True)
    expires_in = serializers.IntegerField(help_text="Seconds the URLs stay valid.")
    video_metadata = StandardVideoMetadataSerializer()


class WindowSerializer(serializers.Serializer):
    center = serializers.FloatField()
    width = serializers.FloatField()


class DicomSeriesSerializer(serializers.Serializer):
    modality = serializers.CharField()
    series_description = serializers.CharField()
    series_instance_uid = serializers.CharField()
    study_instance_uid = serializers.CharField()
    pixel_spacing = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    slice_thickness = serializers.FloatField(allow_null=True)
    rows = serializers.IntegerField()
    columns = serializers.IntegerField()
    frames = serializers.IntegerField()
    photometric_interpretation = serializers.CharField()
    transfer_syntax = serializers.CharField()
    window = WindowSerializer(allow_null=True)
    value_range = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    body_part = serializers.CharField()
    manufacturer = serializers.CharField()
    patient_identity_stripped = serializers.BooleanField()
    window_presets = serializers.DictField(child=WindowSerializer())


class AssetOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    name = serializers.CharField()
    size_bytes = serializers.IntegerField()
    content_hash = serializers.CharField()
    mime_type = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    frame_count = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    error = serializers.CharField()
    url = serializers.CharField(help_text="Short-lived download URL of the original.")
    thumbnail_url = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class TaskMediaSerializer(serializers.Serializer):
    task_id = serializers.IntegerField()
    media_kind = serializers.CharField()
    status = serializers.CharField()
    frame_count = serializers.IntegerField()
    thumbnail_url = serializers.CharField(allow_null=True)
    assets = AssetOutSerializer(many=True)
    video_metadata = StandardVideoMetadataSerializer(allow_null=True)
    dicom = DicomSeriesSerializer(allow_null=True)


class FrameSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    asset_id = serializers.IntegerField()
    asset_frame = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    pts_ms = serializers.FloatField(allow_null=True)
    is_keyframe = serializers.BooleanField(allow_null=True)
    pict_type = serializers.CharField()
    metadata = serializers.DictField()
