from django.contrib import admin

from media.models import Asset, Frame, ImportFile, Upload


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ["id", "original_name", "kind", "status", "organization", "project", "task", "size_bytes"]
    list_filter = ["kind", "status", "organization"]
    search_fields = ["original_name", "content_hash"]
    raw_id_fields = ["project", "task", "created_by"]
    readonly_fields = ["content_hash", "created_at"]


@admin.register(Frame)
class FrameAdmin(admin.ModelAdmin):
    list_display = ["id", "task", "index", "asset", "asset_frame", "pts_ms", "is_keyframe", "pict_type"]
    list_filter = ["organization"]
    raw_id_fields = ["task", "asset"]


@admin.register(ImportFile)
class ImportFileAdmin(admin.ModelAdmin):
    list_display = ["id", "job", "name", "outcome", "code", "detected_type", "task", "decided_at"]
    list_filter = ["outcome", "code", "organization"]
    search_fields = ["name", "reason", "content_hash"]
    raw_id_fields = ["job", "project", "task", "asset", "upload", "parent"]


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ["id", "filename", "status", "offset", "size_bytes", "project", "created_by", "expires_at"]
    list_filter = ["status", "organization"]
    search_fields = ["filename"]
    raw_id_fields = ["project", "created_by"]
