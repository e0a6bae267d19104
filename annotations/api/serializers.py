"""HTTP shapes of the annotation API. Shapes themselves are checked by ``annotations.shapes``
(one validator for the API, importers and model output); these serializers check the
envelopes and document everything for the OpenAPI schema."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import DateTimeField

from annotations.models import Annotation, AnnotationRevision
from annotator.api.serializers import StrictSerializer

MAX_SHAPES = 20_000
MAX_IDS = 10_000


# One shape as clients send it (docs/annotations.md lists each type's geometry). The schema
# says what ``ShapeField`` checks before anything else (so a malformed body is a 400 even on a
# task you do not hold); ``annotations.shapes`` then checks everything against the project.
SHAPE_SCHEMA = {
    "type": "object",
    "description": "One shape: `type` (or `annotation_type`), `class_name`, `geometry`, ...",
    "properties": {
        "id": {"type": "integer", "nullable": True, "description": "An existing annotation to update in place."},
        "type": {
            "type": "string",
            "description": "bbox, rotated_bbox, polygon, polyline, points, keypoints, mask, classification, "
            "text_span, relation, video_bbox, video_track — or rectanglelabels, polygonlabels, ... (see the docs).",
        },
        "annotation_type": {"type": "string", "description": "Same as type (the video contract's name)."},
        "class_name": {
            "type": "string",
            "nullable": True,
            "description": "A label of the project (optional for relations).",
        },
        "frame_index": {"type": "integer", "minimum": 0, "nullable": True},
        "geometry": {"description": "Pixels of the frame; video_bbox/video_track normalized 0-1."},
        "attributes": {"description": "Values for the label's attribute schema."},
        "object_id": {
            "type": "string",
            "maxLength": 64,
            "nullable": True,
            "description": "Identity of an object across frames.",
        },
    },
    "anyOf": [{"required": ["type"]}, {"required": ["annotation_type"]}],
}
_SHAPE_TYPES = {"id": int, "type": str, "annotation_type": str, "class_name": str, "frame_index": int, "object_id": str}


@extend_schema_field(SHAPE_SCHEMA)
class ShapeField(serializers.JSONField):
    """A shape, checked here for its envelope (object, JSON types of the keys the schema
    names) and passed as JSON to ``annotations.shapes.validate_shapes``."""

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        if not isinstance(data, dict):
            raise serializers.ValidationError('Each shape must be an object {"type", "class_name", "geometry", ...}.')
        errors = {}
        for key, kind in _SHAPE_TYPES.items():
            value = data.get(key)
            if value is None:
                if key in data and key in ("type", "annotation_type"):
                    errors[key] = ["Must not be null."]
                continue
            if isinstance(value, bool) or not isinstance(value, kind):
                errors[key] = ["Must be an integer." if kind is int else "Must be a string."]
        if "type" not in data and "annotation_type" not in data:
            errors["type"] = ["Required: the shape's type (or annotation_type)."]
        if isinstance(data.get("frame_index"), int) and data["frame_index"] < 0:
            errors["frame_index"] = ["Must be 0 or more."]
        if isinstance(data.get("object_id"), str) and len(data["object_id"]) > 64:
            errors["object_id"] = ["object_id must be a string of at most 64 characters."]
        if errors:
            raise serializers.ValidationError(errors)
        return data


class SaveAnnotationsSerializer(StrictSerializer):
    shapes = serializers.ListField(child=ShapeField(), max_length=MAX_SHAPES, allow_empty=True)
    revision = serializers.IntegerField(
        required=False, min_value=0, help_text="The revision your edit is based on (stale → 409)."
    )


class AuthorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class AnnotationSerializer(serializers.ModelSerializer):
    task_id = serializers.IntegerField(read_only=True)
    annotation_type = serializers.CharField(source="type", read_only=True)
    class_name = serializers.SerializerMethodField()
    label_id = serializers.IntegerField(read_only=True, allow_null=True)
    author = AuthorSerializer(read_only=True, allow_null=True)
    produced_by_job_id = serializers.IntegerField(source="produced_by_id", read_only=True, allow_null=True)
    prediction_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Annotation
        fields = [
            "id",
            "task_id",
            "type",
            "annotation_type",
            "class_name",
            "label_id",
            "frame_index",
            "geometry",
            "attributes",
            "source",
            "author",
            "object_id",
            "produced_by_job_id",
            "prediction_id",
            "prediction_shape_index",
            "score",
            "model_version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_class_name(self, obj: Annotation) -> str:
        return obj.label.name if obj.label_id else ""

    def to_representation(self, instance: Annotation) -> dict:
        """What the declared fields give, built directly: DRF's field-by-field walk cost ~0.1 ms
        an annotation, a third of a 1,000-shape draft save and most of ``GET .../annotations``
        (bench/annotations.py). tests/annotations/test_serializer_fast_path.py compares the two
        on every kind of annotation."""
        author = instance.author if instance.author_id is not None else None
        return {
            "id": instance.pk,
            "task_id": instance.task_id,
            "type": instance.type,
            "annotation_type": instance.type,
            "class_name": instance.label.name if instance.label_id else "",
            "label_id": instance.label_id,
            "frame_index": instance.frame_index,
            "geometry": instance.geometry,
            "attributes": instance.attributes,
            "source": instance.source,
            "author": {"id": author.pk, "username": author.username} if author is not None else None,
            "object_id": instance.object_id,
            "produced_by_job_id": instance.produced_by_id,
            "prediction_id": instance.prediction_id,
            "prediction_shape_index": instance.prediction_shape_index,
            "score": None if instance.score is None else float(instance.score),
            "model_version": instance.model_version,
            "created_at": _DATETIME.to_representation(instance.created_at) if instance.created_at else None,
            "updated_at": _DATETIME.to_representation(instance.updated_at) if instance.updated_at else None,
        }


_DATETIME = DateTimeField()  # DRF's own rendering of date-times (format and time zone settings)


class AnnotationSetSerializer(serializers.Serializer):
    task_id = serializers.IntegerField()
    revision = serializers.IntegerField(help_text="Send it back with your next save.")
    status = serializers.CharField(help_text="The task's status.")
    count = serializers.IntegerField()
    annotations = AnnotationSerializer(many=True)


class AnnotationFilterSerializer(StrictSerializer):
    frame_index = serializers.IntegerField(required=False, min_value=0)
    type = serializers.CharField(required=False, max_length=200, help_text="Comma-separated types.")
    source = serializers.CharField(required=False, max_length=200, help_text="Comma-separated sources.")
    label = serializers.CharField(required=False, max_length=100, help_text="A label id or class name.")


class TrackFrameSerializer(serializers.Serializer):
    frame_index = serializers.IntegerField()
    bbox = serializers.DictField(child=serializers.FloatField())
    occluded = serializers.BooleanField()
    keyframe = serializers.BooleanField()
    source = serializers.CharField()


class TrackFramesSerializer(serializers.Serializer):
    annotation_id = serializers.IntegerField()
    track_id = serializers.CharField()
    frames = TrackFrameSerializer(many=True)


class TrackFramesQuerySerializer(StrictSerializer):
    """``?from=&to=`` (inclusive frame range; ``from`` is a Python keyword, hence get_fields)."""

    def get_fields(self):
        return {
            "from": serializers.IntegerField(required=False, min_value=0, help_text="First frame (inclusive)."),
            "to": serializers.IntegerField(required=False, min_value=0, help_text="Last frame (inclusive)."),
        }


class RevisionSerializer(serializers.ModelSerializer):
    author = AuthorSerializer(read_only=True, allow_null=True)
    revision = serializers.IntegerField(source="number", read_only=True)

    class Meta:
        model = AnnotationRevision
        fields = ["revision", "action", "author", "created_at", "summary"]
        read_only_fields = fields


class RevisionWithSnapshotSerializer(RevisionSerializer):
    snapshot = serializers.SerializerMethodField(help_text="The whole annotation set at this revision.")

    class Meta(RevisionSerializer.Meta):
        fields = [*RevisionSerializer.Meta.fields, "snapshot"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_snapshot(self, revision) -> list:
        snapshots = self.context.get("snapshots")  # a page's, rebuilt together (HistoryView)
        if snapshots is not None:
            return snapshots.get(revision.number, [])
        from annotations.services.revisions import revision_state

        return revision_state(revision.task_id, revision.number) or []


class HistoryQuerySerializer(StrictSerializer):
    include_snapshot = serializers.BooleanField(required=False, default=False)
    limit = serializers.IntegerField(required=False)
    offset = serializers.IntegerField(required=False)


class RestoreSerializer(StrictSerializer):
    number = serializers.IntegerField(min_value=1, help_text="The revision to restore.")
    revision = serializers.IntegerField(required=False, min_value=0, help_text="The current revision you saw.")


class CandidateShapeSerializer(serializers.Serializer):
    shape_index = serializers.IntegerField()
    type = serializers.CharField()
    class_name = serializers.CharField(help_text="The model's class name (an alias, maybe).")
    project_class_name = serializers.CharField(allow_null=True, help_text="What it maps to here (None: unknown).")
    geometry = serializers.JSONField()
    attributes = serializers.JSONField()
    frame_index = serializers.IntegerField(allow_null=True)
    score = serializers.FloatField(required=False)
    decision = serializers.CharField(allow_null=True)


class PredictionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    task_id = serializers.IntegerField()
    model_version = serializers.CharField()
    score = serializers.FloatField(allow_null=True)
    job_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    shapes = CandidateShapeSerializer(many=True)


class PredictionQuerySerializer(StrictSerializer):
    include_decided = serializers.BooleanField(required=False, default=False)
    limit = serializers.IntegerField(required=False)
    offset = serializers.IntegerField(required=False)


class PredictionShapeSerializer(StrictSerializer):
    prediction_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    shape_index = serializers.IntegerField(min_value=0, max_value=1_000_000)


class AcceptSerializer(PredictionShapeSerializer):
    revision = serializers.IntegerField(required=False, min_value=0)


class AcceptedSerializer(serializers.Serializer):
    annotation = AnnotationSerializer()
    revision = serializers.IntegerField()


class RejectedSerializer(serializers.Serializer):
    prediction_id = serializers.IntegerField()
    shape_index = serializers.IntegerField()
    decision = serializers.CharField()


class ConvertSerializer(StrictSerializer):
    operation = serializers.ChoiceField(["copy", "split"])
    scope = serializers.ChoiceField(["frame", "track"])
    frame_index = serializers.IntegerField(required=False, min_value=0, help_text="Required when scope is frame.")
    frame_mode = serializers.ChoiceField(["keyframes", "all_frames"], default="keyframes")
    revision = serializers.IntegerField(required=False, min_value=0)

    def validate(self, attrs):
        if attrs["scope"] == "frame" and "frame_index" not in attrs:
            raise serializers.ValidationError({"frame_index": ["frame_index is required when scope is frame."]})
        return attrs


class ConvertedSerializer(serializers.Serializer):
    source_annotation = AnnotationSerializer(help_text="The track after the operation (as it was, if deleted).")
    created_annotations = AnnotationSerializer(many=True)
    deleted_source = serializers.BooleanField()
    removed_frame_indexes = serializers.ListField(child=serializers.IntegerField())
    revision = serializers.IntegerField()


class CompositionSerializer(StrictSerializer):
    operation = serializers.ChoiceField(["aggregate_bboxes", "split_track", "merge_tracks"])
    annotation_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), required=False, max_length=MAX_IDS
    )
    annotation_id = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="split_track: the track (or annotation_ids)."
    )
    frame_index = serializers.IntegerField(required=False, min_value=0, help_text="split_track: last frame of part 1.")
    delete_sources = serializers.BooleanField(required=False, default=False, help_text="aggregate_bboxes only.")
    revision = serializers.IntegerField(required=False, min_value=0)

    def validate(self, attrs):
        ids = list(attrs.get("annotation_ids") or [])
        if "annotation_id" in attrs:
            if ids and ids != [attrs["annotation_id"]]:
                message = "give annotation_id or annotation_ids, not both."
                raise serializers.ValidationError({"annotation_id": [message]})
            ids = [attrs["annotation_id"]]
        if not ids:
            raise serializers.ValidationError({"annotation_ids": ["annotation_ids is required."]})
        attrs["annotation_ids"] = ids
        return attrs


class ComposedSerializer(serializers.Serializer):
    updated_annotations = AnnotationSerializer(many=True)
    created_annotations = AnnotationSerializer(many=True)
    deleted_annotation_ids = serializers.ListField(child=serializers.IntegerField())
    revision = serializers.IntegerField()


class RevisionListItemSerializer(RevisionSerializer):
    """A revision as the history lists it (schema only): ``snapshot`` is there only with
    ``include_snapshot=true``, so it is not a required property."""

    snapshot = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="The whole annotation set at this revision."
    )

    class Meta(RevisionSerializer.Meta):
        fields = [*RevisionSerializer.Meta.fields, "snapshot"]
        read_only_fields = RevisionSerializer.Meta.fields


class PaginatedRevisionsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = RevisionListItemSerializer(many=True, help_text="snapshot only with include_snapshot=true")


class PaginatedPredictionsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = PredictionSerializer(many=True)
