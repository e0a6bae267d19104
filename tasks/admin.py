from django.contrib import admin

from tasks.models import Batch, Comment, Tag, Task, TaskClaim, TaskTransition


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "organization", "created_at"]
    list_filter = ["organization"]
    search_fields = ["name"]
    raw_id_fields = ["project"]


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "status", "priority", "assignee", "locked_by", "lock_expires_at", "updated_at"]
    list_filter = ["status", "organization"]
    search_fields = ["name"]
    raw_id_fields = ["project", "batch", "assignee", "reviewer", "annotator", "locked_by"]
    filter_horizontal = ["tags"]


@admin.register(TaskTransition)
class TaskTransitionAdmin(admin.ModelAdmin):
    """Status history is a record: read only."""

    list_display = ["task", "from_status", "to_status", "actor", "created_at"]
    list_filter = ["to_status", "organization"]
    raw_id_fields = ["task", "actor"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(TaskClaim)
class TaskClaimAdmin(admin.ModelAdmin):
    list_display = ["task", "user", "purpose", "claimed_at", "ended_at", "end_reason"]
    list_filter = ["purpose", "end_reason", "organization"]
    raw_id_fields = ["task", "user"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["task", "author", "frame_index", "resolved_at", "created_at"]
    list_filter = ["organization"]
    raw_id_fields = ["task", "author", "annotation", "resolved_by"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "organization"]
    search_fields = ["name"]
