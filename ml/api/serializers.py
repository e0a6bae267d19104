"""Serializers of the ml API: strict input, typed output."""

from __future__ import annotations

import json

from rest_framework import serializers

from annotator.api.serializers import StrictSerializer
from jobs.api.serializers import JobSerializer
from ml.models import (
    AutoAnnotationMode,
    AutoAnnotationRun,
    Direction,
    EvaluationRun,
    InferenceModel,
    InferenceRecord,
    InferenceRun,
    ModelKind,
    PropagationRun,
)

MAX_ID = 2**63 - 1


class FlexibleJSONField(serializers.JSONField):
    """JSON given as a structure (JSON bodies) or as a JSON string (multipart forms)."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                raise serializers.ValidationError("Give valid JSON.") from None
        return super().to_internal_value(data)


# --- SAM -----------------------------------------------------------------------------------------
class PointField(serializers.ListField):
    child = serializers.FloatField(min_value=0, max_value=1_000_000)

    def __init__(self, **kwargs):
        super().__init__(min_length=2, max_length=2, **kwargs)


class MaskRequestSerializer(StrictSerializer):
    task_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    frame_index = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)
    points = serializers.ListField(child=PointField(), max_length=100, default=list, help_text="[[x, y], ...] pixels")
    point_labels = serializers.ListField(
        child=serializers.ChoiceField(choices=[0, 1]), max_length=100, default=list, help_text="1 positive, 0 negative"
    )
    box = serializers.ListField(
        child=serializers.FloatField(min_value=0, max_value=1_000_000),
        min_length=4,
        max_length=4,
        required=False,
        allow_null=True,
        help_text="[x1, y1, x2, y2] pixels",
    )
    multimask_output = serializers.BooleanField(default=True, help_text="Three candidate masks, or the best one.")
    include_polygons = serializers.BooleanField(
        default=True, help_text="Also trace each mask into polygons (RLE is always returned)."
    )


class MaskSerializer(serializers.Serializer):
    score = serializers.FloatField()
    area = serializers.IntegerField()
    bbox = serializers.ListField(child=serializers.FloatField())
    polygons = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text='[{"exterior", "holes"}] (unless include_polygons is false)',
    )
    rle = serializers.DictField(help_text='COCO RLE {"size": [h, w], "counts": str}')


class MaskTimingSerializer(serializers.Serializer):
    embedding_cached = serializers.BooleanField()
    embedding_ms = serializers.FloatField()
    decoder_ms = serializers.FloatField()
    encode_ms = serializers.FloatField()
    worker_ms = serializers.FloatField()
    total_ms = serializers.FloatField()


class MaskResponseSerializer(serializers.Serializer):
    task_id = serializers.IntegerField()
    frame_index = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    model_version = serializers.CharField()
    masks = MaskSerializer(many=True)
    timing = MaskTimingSerializer()


class EmbeddingRequestSerializer(StrictSerializer):
    task_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    frame_index = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)


class SamStatusSerializer(serializers.Serializer):
    configured = serializers.BooleanField()
    config = serializers.CharField()
    device = serializers.CharField()
    sizes = serializers.DictField(child=serializers.CharField())
    message = serializers.CharField()


class PropagationCreateSerializer(StrictSerializer):
    task_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    reference_frame = serializers.IntegerField(min_value=0, max_value=10_000_000)
    object_ids = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=50)
    direction = serializers.ChoiceField(choices=Direction.choices, default=Direction.FORWARD)
    start_frame = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False, allow_null=True)
    end_frame = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False, allow_null=True)
    replace_previous = serializers.BooleanField(
        default=True, help_text="Clear earlier chains of these objects on this task when the run starts."
    )


class PropagationSerializer(serializers.ModelSerializer):
    job = JobSerializer(read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = PropagationRun
        fields = [
            "id",
            "task",
            "project",
            "job",
            "reference_frame",
            "direction",
            "start_frame",
            "end_frame",
            "object_ids",
            "model_version",
            "device",
            "frames_processed",
            "annotations_written",
            "seconds_total",
            "seconds_per_frame",
            "frame_seconds",
            "cleared_at",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class ClearedSerializer(serializers.Serializer):
    frames = serializers.ListField(child=serializers.IntegerField(), help_text="Frames whose annotations changed.")


# --- organization models -------------------------------------------------------------------------
class LabelMapEntrySerializer(serializers.Serializer):
    index = serializers.IntegerField()
    name = serializers.CharField()
    aliases = serializers.ListField(child=serializers.CharField())


class InferenceModelSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    version_label = serializers.CharField(read_only=True)
    label_map = LabelMapEntrySerializer(many=True, read_only=True)
    mean = serializers.ListField(child=serializers.FloatField(), read_only=True)
    std = serializers.ListField(child=serializers.FloatField(), read_only=True)

    class Meta:
        model = InferenceModel
        fields = [
            "id",
            "name",
            "version",
            "version_label",
            "kind",
            "status",
            "status_message",
            "input_width",
            "input_height",
            "mean",
            "std",
            "label_map",
            "score_threshold",
            "outputs_logits",
            "is_default_detection",
            "description",
            "size_bytes",
            "sha256",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class InferenceModelCreateSerializer(StrictSerializer):
    file = serializers.FileField(help_text="The TorchScript file (torch.jit.save).")
    name = serializers.RegexField(r"^[\w .:+-]{1,100}$", max_length=100)
    kind = serializers.ChoiceField(choices=ModelKind.choices)
    input_width = serializers.IntegerField(min_value=8, max_value=8192)
    input_height = serializers.IntegerField(min_value=8, max_value=8192)
    mean = FlexibleJSONField(required=False, help_text="[r, g, b] subtracted after scaling to 0-1.")
    std = FlexibleJSONField(required=False, help_text="[r, g, b] divided by after subtracting the mean.")
    label_map = FlexibleJSONField(help_text='[{"index": 0, "name": "car", "aliases": ["auto"]}]')
    score_threshold = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.5)
    outputs_logits = serializers.BooleanField(default=True)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    make_default_detection = serializers.BooleanField(default=False)


class InferenceModelUpdateSerializer(StrictSerializer):
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    label_map = FlexibleJSONField(required=False)
    score_threshold = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
    outputs_logits = serializers.BooleanField(required=False)


# --- batch inference -----------------------------------------------------------------------------
class InferenceRequestSerializer(StrictSerializer):
    images = serializers.ListField(child=serializers.FileField(), min_length=1, help_text="Many image files.")
    model_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True)
    wait = serializers.FloatField(
        min_value=0, max_value=120, default=0, help_text="Seconds to wait for the results before answering 202."
    )


class InferenceRecordSerializer(serializers.ModelSerializer):
    result_image_url = serializers.SerializerMethodField()

    class Meta:
        model = InferenceRecord
        fields = [
            "id",
            "run",
            "position",
            "image_name",
            "status",
            "error",
            "width",
            "height",
            "object_count",
            "labels",
            "confidence",
            "results",
            "processing_ms",
            "model_version",
            "result_image_url",
            "created_at",
        ]
        read_only_fields = fields

    def get_result_image_url(self, record: InferenceRecord) -> str | None:
        if not record.result_image_path:
            return None
        return f"/api/v1/ml/inference-records/{record.pk}/result-image"


class InferenceRunSerializer(serializers.ModelSerializer):
    job = JobSerializer(read_only=True)
    records = InferenceRecordSerializer(many=True, read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = InferenceRun
        fields = ["id", "model", "model_version", "job", "image_count", "records", "created_by", "created_at"]
        read_only_fields = fields


class RecentQuerySerializer(StrictSerializer):
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=120)


class StatsQuerySerializer(StrictSerializer):
    start_date = serializers.DateField(required=False)
    end_date = serializers.DateField(required=False)


class DailyStatSerializer(serializers.Serializer):
    stat_date = serializers.DateField()
    record_count = serializers.IntegerField()
    total_objects = serializers.IntegerField()


# --- auto-annotation and evaluation -------------------------------------------------------------
class TaskFilterSerializer(StrictSerializer):
    task_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False)
    statuses = serializers.ListField(child=serializers.CharField(max_length=20), required=False)
    batch_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=100), required=False)


class AutoAnnotationCreateSerializer(StrictSerializer):
    project_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    model_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    mode = serializers.ChoiceField(choices=AutoAnnotationMode.choices, default=AutoAnnotationMode.MODEL)
    task_filter = TaskFilterSerializer(required=False)
    skip_existing = serializers.BooleanField(default=True)
    frame_step = serializers.IntegerField(min_value=1, max_value=10_000, default=1)


class AutoAnnotationSerializer(serializers.ModelSerializer):
    job = JobSerializer(read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = AutoAnnotationRun
        fields = [
            "id",
            "project",
            "model",
            "model_version",
            "mode",
            "job",
            "task_filter",
            "task_count",
            "tasks_done",
            "tasks_skipped",
            "predictions_created",
            "shapes_created",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class EvaluationCreateSerializer(StrictSerializer):
    project_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    model_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    iou_threshold = serializers.FloatField(min_value=0.05, max_value=0.95, default=0.5)
    confidence_threshold = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.5)
    task_filter = TaskFilterSerializer(required=False)


class EvaluationSerializer(serializers.ModelSerializer):
    job = JobSerializer(read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = EvaluationRun
        fields = [
            "id",
            "project",
            "model",
            "model_version",
            "job",
            "iou_threshold",
            "confidence_threshold",
            "task_filter",
            "task_count",
            "image_count",
            "gt_count",
            "pred_count",
            "metrics",
            "per_class",
            "confusion_matrix",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields
