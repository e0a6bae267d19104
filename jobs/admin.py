from django.contrib import admin

from jobs.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "status",
        "organization",
        "project",
        "progress_done",
        "progress_total",
        "created_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "kind", "organization"]
    search_fields = ["kind", "message"]
    readonly_fields = ["created_at", "started_at", "finished_at"]
