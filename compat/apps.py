from django.apps import AppConfig


class CompatConfig(AppConfig):
    name = "compat"
    verbose_name = "Peer-client compatibility (Cytomine, detection service)"

    def ready(self) -> None:
        from compat import schema  # noqa: F401  (registers the OpenAPI auth extension)
