from __future__ import annotations

from rest_framework import serializers

from annotator.api.serializers import MessageSerializer, StrictModelSerializer, StrictSerializer
from projects.kinds import KIND_CHOICES, KINDS
from projects.labels import ATTRIBUTE_TYPES
from projects.models import LabelClass, LabelTemplate, Project


class ProjectSerializer(StrictModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    annotation_types = serializers.SerializerMethodField()
    framed = serializers.SerializerMethodField()
    label_count = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=KIND_CHOICES)
    template_id = serializers.IntegerField(
        write_only=True,
        required=False,
        min_value=1,
        help_text="Copy this library template's labels into the new project.",
    )

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "kind",
            "description",
            "review_required",
            "reviewer_must_differ",
            "auto_complete_on_approve",
            "strip_patient_identity",
            "annotation_types",
            "framed",
            "label_count",
            "created_by",
            "created_at",
            "updated_at",
            "template_id",
        ]
        read_only_fields = ["id", "created_by", "created_at", "updated_at", "annotation_types", "framed", "label_count"]

    def get_annotation_types(self, project) -> list[str]:
        return sorted(KINDS[project.kind].annotation_types)

    def get_framed(self, project) -> bool:
        return KINDS[project.kind].framed


class ProjectUpdateSerializer(StrictModelSerializer):
    class Meta:
        model = Project
        fields = [
            "name",
            "description",
            "review_required",
            "reviewer_must_differ",
            "auto_complete_on_approve",
            "strip_patient_identity",
        ]


class ProjectCopySerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    content = serializers.ChoiceField(
        choices=[("settings", "Settings and labels only"), ("all", "Everything: batches, tasks, media, annotations")],
        default="settings",
    )


class SaveAsTemplateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class AttributeSpecSerializer(serializers.Serializer):
    """One attribute of a label's schema (validated by projects.labels)."""

    name = serializers.CharField()
    type = serializers.ChoiceField(choices=ATTRIBUTE_TYPES)
    options = serializers.ListField(child=serializers.CharField(), required=False)
    min = serializers.FloatField(required=False)
    max = serializers.FloatField(required=False)
    step = serializers.FloatField(required=False)
    max_length = serializers.IntegerField(required=False)
    default = serializers.JSONField(required=False)
    required = serializers.BooleanField(required=False)


class KeypointsSchemaSerializer(serializers.Serializer):
    names = serializers.ListField(child=serializers.CharField())
    edges = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField(), min_length=2, max_length=2)
    )


class LabelSerializer(StrictModelSerializer):
    """A label class. Field rules (colour, maskid 0-255 unique, names unique, attribute
    schema, aliases) are checked by projects.labels against the project's other labels."""

    attributes = serializers.JSONField(
        required=False, help_text="List of attribute specs: " + ", ".join(ATTRIBUTE_TYPES)
    )
    aliases = serializers.JSONField(required=False, help_text="List of other names for this class.")
    keypoints = serializers.JSONField(required=False, help_text='{"names": [...], "edges": [[i, j], ...]}')
    maskid = serializers.IntegerField(required=False, min_value=0, max_value=255)
    z_order = serializers.IntegerField(required=False, min_value=-(2**31), max_value=2**31 - 1)

    class Meta:
        model = LabelClass
        fields = [
            "id",
            "name",
            "color",
            "maskid",
            "z_order",
            "category",
            "attributes",
            "aliases",
            "keypoints",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"name": {"validators": []}, "color": {"validators": []}}

    def get_unique_together_validators(self):
        return []  # uniqueness is checked with a clear message by the service


class LabelReorderSerializer(StrictSerializer):
    order = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        max_length=1000,
        help_text="Every label id of the project, bottom (painted first) to top.",
    )


class LabelTemplateSerializer(StrictModelSerializer):
    labels = serializers.JSONField(
        help_text="Label rows: name, color, maskid, z_order, category, attributes, aliases, keypoints."
    )
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    label_count = serializers.SerializerMethodField()

    class Meta:
        model = LabelTemplate
        fields = [
            "id",
            "name",
            "description",
            "labels",
            "label_count",
            "is_builtin",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "is_builtin", "created_by", "created_at", "updated_at", "label_count"]
        extra_kwargs = {"name": {"validators": []}}

    def get_label_count(self, template) -> int:
        return len(template.labels or [])

    def get_unique_together_validators(self):
        return []


class ApplyTemplateSerializer(StrictSerializer):
    project_id = serializers.IntegerField(min_value=1)
    mode = serializers.ChoiceField(
        choices=[("merge", "Add and update labels"), ("replace", "Make the project's labels exactly the template's")],
        default="merge",
    )


class TemplateImportRowSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    name = serializers.CharField(allow_null=True)
    color = serializers.CharField(allow_null=True)
    maskid = serializers.IntegerField(allow_null=True)
    z_order = serializers.IntegerField(allow_null=True)
    category = serializers.CharField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class TemplateImportTemplateReportSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    name = serializers.CharField(allow_null=True)
    valid = serializers.BooleanField()
    errors = serializers.ListField(child=serializers.CharField())
    labels = TemplateImportRowSerializer(many=True)


class TemplateImportReportSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    error_count = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.CharField())
    templates = TemplateImportTemplateReportSerializer(many=True)


class TemplateImportRefusedSerializer(MessageSerializer):
    """A refused import: the error body, with the preview's report when the document was read."""

    report = TemplateImportReportSerializer(required=False)
