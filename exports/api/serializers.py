from __future__ import annotations

import json

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotations.models import Source
from annotator.api.serializers import StrictSerializer
from exports.formats import FORMATS, get_exporter
from exports.importers import IMPORTERS, get_importer
from exports.models import Export, Import
from exports.scope import describe_scope
from tasks.models import TaskStatus


class ScopeSerializer(StrictSerializer):
    batch_id = serializers.IntegerField(required=False, min_value=1, help_text="Only this batch's tasks.")
    statuses = serializers.ListField(
        child=serializers.ChoiceField(choices=TaskStatus.choices),
        required=False,
        max_length=10,
        help_text="Task statuses.",
    )
    task_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=10_000)
    frame_start = serializers.IntegerField(required=False, min_value=1, help_text="First frame (1-based, inclusive).")
    frame_end = serializers.IntegerField(required=False, min_value=1, help_text="Last frame (1-based, inclusive).")
    task_id = serializers.IntegerField(required=False, min_value=1, help_text="Current frame: its task.")
    frame = serializers.IntegerField(required=False, min_value=1, help_text="Current frame: its number (1-based).")
    sources = serializers.ListField(
        child=serializers.CharField(max_length=20),
        required=False,
        max_length=10,
        help_text=f"Annotation sources to include, from: {', '.join(Source.values)} "
        "(default: manual, ai-accepted, propagated, imported; raw ai candidates only when listed).",
    )
    annotated_only = serializers.BooleanField(required=False, help_text="Leave out frames without shapes.")
    split = serializers.JSONField(
        required=False,
        help_text=(
            '{"mode": "ratio", "train": 0.8, "val": 0.1, "test": 0.1, "seed": 0} '
            'or {"mode": "tag", "untagged": "train"}'
        ),
    )


class ExportRequestSerializer(StrictSerializer):
    format = serializers.ChoiceField(choices=[(name, name) for name in FORMATS])
    scope = ScopeSerializer(required=False)
    options = serializers.JSONField(required=False, help_text="Format options (see GET /api/v1/exports/formats).")
    include_images = serializers.BooleanField(default=True, help_text="Write the frames as image files too.")

    def validate_options(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("options must be an object.")
        return value


class ExportSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    status = serializers.CharField(read_only=True)
    scope_description = serializers.SerializerMethodField()
    job_id = serializers.IntegerField(read_only=True, allow_null=True)
    progress_done = serializers.IntegerField(source="job.progress_done", read_only=True, default=0)
    progress_total = serializers.IntegerField(source="job.progress_total", read_only=True, default=0)
    message = serializers.CharField(source="job.message", read_only=True, default="")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = [
            "id",
            "project",
            "format",
            "status",
            "scope",
            "scope_description",
            "options",
            "created_by",
            "created_at",
            "finished_at",
            "file_name",
            "size_bytes",
            "file_count",
            "frame_count",
            "annotation_count",
            "job_id",
            "progress_done",
            "progress_total",
            "message",
            "download_url",
        ]
        read_only_fields = fields

    def get_scope_description(self, export) -> str:
        return describe_scope(export.scope or {})

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_download_url(self, export) -> str | None:
        """A short-lived link to the archive once it is ready (presigned on S3)."""
        request = self.context.get("request")
        if request is None or not export.is_ready:
            return None
        from exports.services.exports import download_url

        return download_url(export, request)


class ImportRequestSerializer(StrictSerializer):
    format = serializers.ChoiceField(choices=[(name, name) for name in IMPORTERS])
    file = serializers.FileField(help_text="An annotation file, or a zip / tar of them.")
    options = serializers.CharField(
        required=False,
        max_length=20_000,
        help_text='Options as a JSON object, e.g. {"unknown_classes": "create", "dry_run": true}.',
    )

    def validate_options(self, value: str) -> dict:
        try:
            parsed = json.loads(value) if value else {}
        except ValueError:
            raise serializers.ValidationError("options must be a JSON object.") from None
        if not isinstance(parsed, dict):
            raise serializers.ValidationError("options must be a JSON object.")
        return parsed


class ImportSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    status = serializers.CharField(read_only=True)
    job_id = serializers.IntegerField(read_only=True, allow_null=True)
    message = serializers.CharField(source="job.message", read_only=True, default="")

    class Meta:
        model = Import
        fields = [
            "id",
            "project",
            "format",
            "status",
            "options",
            "upload_name",
            "size_bytes",
            "created_by",
            "created_at",
            "finished_at",
            "job_id",
            "message",
            "report",
        ]
        read_only_fields = fields


class FormatOptionSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    default = serializers.JSONField()
    choices = serializers.ListField(child=serializers.CharField(), allow_null=True)
    help = serializers.CharField()


class FormatSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    options = FormatOptionSerializer(many=True)


class FormatListSerializer(serializers.Serializer):
    exports = FormatSerializer(many=True)
    imports = FormatSerializer(many=True)


def describe_formats() -> dict:
    def rows(names, getter):
        out = []
        for name in names:
            cls = getter(name)
            out.append(
                {
                    "name": name,
                    "title": cls.title,
                    "description": cls.description,
                    "options": [
                        {
                            "name": key,
                            "type": option.type.__name__,
                            "default": option.default,
                            "choices": [str(c) for c in option.choices] if option.choices else None,
                            "help": option.help,
                        }
                        for key, option in cls.OPTIONS.items()
                    ],
                }
            )
        return out

    return {"exports": rows(FORMATS, get_exporter), "imports": rows(IMPORTERS, get_importer)}
