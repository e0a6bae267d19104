from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotator.api.serializers import StrictSerializer
from tasks.models import Batch, Comment, Tag, Task, TaskStatus, TaskTransition
from tasks.selectors import video_metadata_for
from tasks.services.lifecycle import allowed_moves

INT32 = {"min_value": -(2**31), "max_value": 2**31 - 1}
ID = {"min_value": 1, "max_value": 2**63 - 1}


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class VideoMetadataSerializer(serializers.Serializer):
    """Normalized video metadata (task-platform contract, v0.9.16); filled by media ingest."""

    duration_ms = serializers.FloatField(required=False)
    fps = serializers.FloatField(required=False)
    frame_count = serializers.IntegerField(required=False)
    width = serializers.IntegerField(required=False)
    height = serializers.IntegerField(required=False)
    codec = serializers.CharField(required=False)
    playback_path = serializers.CharField(required=False, allow_null=True)
    playback_codec = serializers.CharField(required=False, allow_null=True)
    poster_frame_path = serializers.CharField(required=False, allow_null=True)
    frame_timetable_frame_count = serializers.IntegerField(required=False)


# --- tasks -------------------------------------------------------------------------------
class TaskSerializer(serializers.ModelSerializer):
    """A task as lists show it (TaskOut without ``video_metadata``)."""

    project_id = serializers.IntegerField(read_only=True)
    batch_id = serializers.IntegerField(read_only=True, allow_null=True)
    batch_name = serializers.CharField(source="batch.name", read_only=True, allow_null=True)
    tags = serializers.SerializerMethodField()
    assignee = UserRefSerializer(read_only=True, allow_null=True)
    reviewer = UserRefSerializer(read_only=True, allow_null=True)
    annotator = UserRefSerializer(read_only=True, allow_null=True)
    locked_by = serializers.SerializerMethodField()
    lock_expires_at = serializers.SerializerMethodField()
    allowed_transitions = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = [
            "id",
            "project_id",
            "batch_id",
            "batch_name",
            "name",
            "status",
            "priority",
            "tags",
            "assignee",
            "reviewer",
            "annotator",
            "locked_by",
            "lock_expires_at",
            "annotation_revision",
            "text",
            "allowed_transitions",
            "created_at",
            "updated_at",
            "submitted_at",
            "completed_at",
        ]
        read_only_fields = fields

    def get_tags(self, task) -> list[str]:
        return sorted(tag.name for tag in task.tags.all())

    def _live(self, task) -> bool:
        return task.locked_by_id is not None and task.lock_expires_at and task.lock_expires_at > timezone.now()

    @extend_schema_field(UserRefSerializer(allow_null=True))
    def get_locked_by(self, task):
        """Who holds the live lock (an expired lock shows as none)."""
        return UserRefSerializer(task.locked_by).data if self._live(task) else None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_lock_expires_at(self, task):
        return serializers.DateTimeField().to_representation(task.lock_expires_at) if self._live(task) else None

    def get_allowed_transitions(self, task) -> list[str]:
        return allowed_moves(task.status)


class TaskDetailSerializer(TaskSerializer):
    """TaskOut: one task with its video metadata (null for non-video tasks)."""

    video_metadata = serializers.SerializerMethodField()

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "video_metadata"]
        read_only_fields = fields

    @extend_schema_field(VideoMetadataSerializer(allow_null=True))
    def get_video_metadata(self, task):
        return video_metadata_for(task)


class TaskCreateSerializer(StrictSerializer):
    project_id = serializers.IntegerField(**ID)
    batch_id = serializers.IntegerField(required=False, allow_null=True, **ID)
    name = serializers.CharField(max_length=500)
    priority = serializers.IntegerField(
        default=0, help_text="Higher first (none 0, low 10, medium 20, high 30).", **INT32
    )
    tags = serializers.ListField(child=serializers.CharField(max_length=100), max_length=50, default=list)
    assignee_id = serializers.IntegerField(required=False, allow_null=True, **ID)
    reviewer_id = serializers.IntegerField(required=False, allow_null=True, **ID)
    text = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=1_000_000, trim_whitespace=False
    )


class TaskUpdateSerializer(StrictSerializer):
    batch_id = serializers.IntegerField(required=False, allow_null=True, **ID)
    name = serializers.CharField(required=False, max_length=500)
    priority = serializers.IntegerField(required=False, **INT32)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=100), max_length=50, required=False, help_text="Replaces the tags."
    )
    assignee_id = serializers.IntegerField(required=False, allow_null=True, help_text="null unassigns.", **ID)
    reviewer_id = serializers.IntegerField(required=False, allow_null=True, **ID)
    text = serializers.CharField(required=False, allow_blank=True, max_length=1_000_000, trim_whitespace=False)


class TaskBulkUpdateSerializer(StrictSerializer):
    task_ids = serializers.ListField(child=serializers.IntegerField(**ID), min_length=1, max_length=1000)
    assignee_id = serializers.IntegerField(required=False, allow_null=True, help_text="null unassigns.", **ID)
    reviewer_id = serializers.IntegerField(required=False, allow_null=True, **ID)
    priority = serializers.IntegerField(required=False, **INT32)
    batch_id = serializers.IntegerField(required=False, allow_null=True, help_text="null: no batch.", **ID)
    add_tags = serializers.ListField(child=serializers.CharField(max_length=100), max_length=50, required=False)
    remove_tags = serializers.ListField(child=serializers.CharField(max_length=100), max_length=50, required=False)

    def validate(self, attrs):
        if len(attrs) == 1:
            raise serializers.ValidationError(
                "Name at least one change: assignee_id, reviewer_id, priority, batch_id, add_tags, remove_tags."
            )
        return attrs


class BulkResultSerializer(serializers.Serializer):
    updated = serializers.IntegerField()


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class ClaimSerializer(StrictSerializer):
    project_id = serializers.IntegerField(**ID)
    batch_id = serializers.IntegerField(required=False, allow_null=True, **ID)


class LockSerializer(serializers.Serializer):
    task_id = serializers.IntegerField(source="pk")
    locked_by = UserRefSerializer(allow_null=True)
    lock_expires_at = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField()


class ReasonSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class TransitionRequestSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=TaskStatus.choices)
    reason = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class TransitionSerializer(serializers.ModelSerializer):
    actor = UserRefSerializer(allow_null=True, read_only=True)

    class Meta:
        model = TaskTransition
        fields = ["id", "from_status", "to_status", "actor", "reason", "created_at"]
        read_only_fields = fields


# --- review and comments -------------------------------------------------------------------
class PositionSerializer(StrictSerializer):
    x = serializers.FloatField(min_value=0, max_value=1e6)
    y = serializers.FloatField(min_value=0, max_value=1e6)


class ApproveSerializer(StrictSerializer):
    comment = serializers.CharField(max_length=10000, required=False, allow_blank=True, default="")


class ReturnSerializer(StrictSerializer):
    comment = serializers.CharField(max_length=10000, help_text="What to fix (required).")
    frame_index = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=10**7)
    position = PositionSerializer(required=False, allow_null=True, help_text="Pixels of the frame.")
    annotation_id = serializers.IntegerField(required=False, allow_null=True, **ID)


class CommentCreateSerializer(StrictSerializer):
    body = serializers.CharField(max_length=10000)
    frame_index = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=10**7)
    position = PositionSerializer(required=False, allow_null=True, help_text="Pixels of the frame.")
    annotation_id = serializers.IntegerField(required=False, allow_null=True, **ID)


class CommentSerializer(serializers.ModelSerializer):
    task_id = serializers.IntegerField(read_only=True)
    annotation_id = serializers.IntegerField(read_only=True, allow_null=True)
    author = UserRefSerializer(read_only=True, allow_null=True)
    resolved_by = UserRefSerializer(read_only=True, allow_null=True)
    resolved = serializers.SerializerMethodField()
    position = PositionSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Comment
        fields = [
            "id",
            "task_id",
            "author",
            "body",
            "frame_index",
            "position",
            "annotation_id",
            "resolved",
            "resolved_at",
            "resolved_by",
            "created_at",
        ]
        read_only_fields = fields

    def get_resolved(self, comment) -> bool:
        return comment.resolved_at is not None


# --- batches, tags, progress ---------------------------------------------------------------
class BatchSerializer(serializers.ModelSerializer):
    project_id = serializers.IntegerField(read_only=True)
    task_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Batch
        fields = ["id", "project_id", "name", "description", "task_count", "created_at"]
        read_only_fields = fields


class BatchWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name"]
        read_only_fields = fields


class BatchProgressSerializer(serializers.Serializer):
    batch_id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField(allow_null=True)
    total = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())


class PersonProgressSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField(allow_null=True)
    assigned = serializers.DictField(child=serializers.IntegerField(), help_text="Tasks assigned to them, by status.")
    annotated = serializers.DictField(
        child=serializers.IntegerField(), help_text="Tasks they submitted, by current status."
    )
    review_decisions = serializers.IntegerField(help_text="Approvals and returns they made.")
    claims = serializers.IntegerField()
    holding = serializers.IntegerField(help_text="Locks they hold now.")
    annotation_seconds = serializers.IntegerField()
    review_seconds = serializers.IntegerField()


class ProgressSerializer(serializers.Serializer):
    project_id = serializers.IntegerField()
    total = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())
    batches = BatchProgressSerializer(many=True)
    people = PersonProgressSerializer(many=True)
