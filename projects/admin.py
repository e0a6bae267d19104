from django.contrib import admin

from projects.models import LabelClass, LabelTemplate, Project


class LabelInline(admin.TabularInline):
    model = LabelClass
    extra = 0
    fields = ["name", "color", "maskid", "z_order", "category"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "kind", "created_by", "created_at", "review_required"]
    list_filter = ["organization", "kind", "review_required"]
    search_fields = ["name", "organization__name"]
    inlines = [LabelInline]
    readonly_fields = ["organization", "created_at", "updated_at"]


@admin.register(LabelClass)
class LabelClassAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "maskid", "color", "z_order", "category"]
    list_filter = ["project__organization", "category"]
    search_fields = ["name", "project__name"]


@admin.register(LabelTemplate)
class LabelTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "is_builtin", "updated_at"]
    list_filter = ["organization", "is_builtin"]
    search_fields = ["name"]
