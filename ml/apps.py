from django.apps import AppConfig


class MlConfig(AppConfig):
    name = "ml"
    verbose_name = "AI: SAM 2.1, models, inference"
