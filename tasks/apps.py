from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = "Batches, tasks, locks and review"

    def ready(self) -> None:
        from django.conf import settings

        from projects.services.projects import register_content_copier
        from tasks.services.copy import copy_project_content

        # Before media/annotations copiers, if they register any: they may need our task ids.
        register_content_copier(10, copy_project_content)

        # One OpenAPI enum for task statuses (status, from_status, to_status), distinct from
        # other apps' "status" enums. Belongs in settings.SPECTACULAR_SETTINGS; kept here until
        # it is moved there.
        overrides = settings.SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {})
        overrides.setdefault("TaskStatusEnum", "tasks.models.TaskStatus")
