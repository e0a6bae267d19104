from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "media"
    label = "media"
    verbose_name = "Media ingest and storage"

    def ready(self) -> None:
        from demo.services import DEMO_CONTENT_HOOKS
        from media.demo import add_demo_media

        if add_demo_media not in DEMO_CONTENT_HOOKS:
            DEMO_CONTENT_HOOKS.append(add_demo_media)
