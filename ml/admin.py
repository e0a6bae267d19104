from django.contrib import admin

from ml.models import AutoAnnotationRun, EvaluationRun, InferenceModel, InferenceRecord, InferenceRun, PropagationRun


@admin.register(InferenceModel)
class InferenceModelAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "kind", "status", "is_default_detection", "organization", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["name"]
    readonly_fields = ["file", "sha256", "size_bytes"]


@admin.register(InferenceRecord)
class InferenceRecordAdmin(admin.ModelAdmin):
    list_display = ["image_name", "model_version", "status", "object_count", "confidence", "created_at"]
    list_filter = ["status"]
    search_fields = ["image_name"]


@admin.register(PropagationRun)
class PropagationRunAdmin(admin.ModelAdmin):
    list_display = ["id", "task", "reference_frame", "direction", "frames_processed", "seconds_per_frame", "created_at"]


admin.site.register(InferenceRun)
admin.site.register(AutoAnnotationRun)
admin.site.register(EvaluationRun)
