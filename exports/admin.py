from django.contrib import admin

from exports.models import Export, Import


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    list_display = ["id", "format", "project", "organization", "created_by", "created_at", "size_bytes", "frame_count"]
    list_filter = ["format", "organization"]
    search_fields = ["file_name", "project__name"]
    readonly_fields = [f.name for f in Export._meta.fields]


@admin.register(Import)
class ImportAdmin(admin.ModelAdmin):
    list_display = ["id", "format", "project", "organization", "created_by", "created_at", "upload_name"]
    list_filter = ["format", "organization"]
    search_fields = ["upload_name", "project__name"]
    readonly_fields = [f.name for f in Import._meta.fields]
