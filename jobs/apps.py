from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Background jobs"

    def ready(self) -> None:
        from annotator.broker import setup_broker

        setup_broker()
        # Import every app's actors now that the broker exists, so that workers and
        # senders agree on the actor registry.
        import importlib

        from django.apps import apps
        from django.utils.module_loading import module_has_submodule

        for config in apps.get_app_configs():
            if module_has_submodule(config.module, "actors"):
                importlib.import_module(f"{config.name}.actors")
