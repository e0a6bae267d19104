"""Routes under ``/server/``: Cytomine clients ping it before anything else."""

from django.urls import re_path

from compat.api.cytomine import PingView

urlpatterns = [
    re_path(r"^ping(?:\.json)?/?$", PingView.as_view(), name="cytomine-ping"),
]
