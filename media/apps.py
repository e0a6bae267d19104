from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "media"
    label = "media"
    verbose_name = "Media ingest and storage"

    def ready(self) -> None:
        from django.conf import settings
        from PIL import Image

        from demo.services import DEMO_CONTENT_HOOKS
        from media.demo import add_demo_media

        if add_demo_media not in DEMO_CONTENT_HOOKS:
            DEMO_CONTENT_HOOKS.append(add_demo_media)
        # Pillow refuses at open anything over twice its own limit (~179 Mpx by default): raise
        # it to ours, so that MEDIA_MAX_IMAGE_PIXELS above that works and refusals say our limit.
        Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, settings.MEDIA_MAX_IMAGE_PIXELS)
