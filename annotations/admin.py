from django.contrib import admin

from annotations.models import Annotation, AnnotationRevision, Prediction, PredictionDecision


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ("id", "task", "type", "label", "frame_index", "source", "author", "updated_at")
    list_filter = ("type", "source")
    search_fields = ("object_id",)
    raw_id_fields = ("task", "project", "label", "author", "produced_by", "prediction")


@admin.register(AnnotationRevision)
class AnnotationRevisionAdmin(admin.ModelAdmin):
    list_display = ("id", "task", "number", "action", "author", "created_at")
    list_filter = ("action",)
    raw_id_fields = ("task", "author")

    def has_change_permission(self, request, obj=None):
        return False  # history is append-only


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ("id", "task", "model_version", "score", "created_at")
    search_fields = ("model_version",)
    raw_id_fields = ("task", "project", "job")


@admin.register(PredictionDecision)
class PredictionDecisionAdmin(admin.ModelAdmin):
    list_display = ("id", "prediction", "shape_index", "decision", "decided_by", "decided_at")
    list_filter = ("decision",)
    raw_id_fields = ("prediction", "decided_by")
