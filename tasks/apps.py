from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = "Batches, tasks, locks and review"

    def ready(self) -> None:
        from projects.services.projects import register_content_copier
        from tasks.services.copy import copy_project_content

        # Before media/annotations copiers, if they register any: they may need our task ids.
        register_content_copier(10, copy_project_content)
