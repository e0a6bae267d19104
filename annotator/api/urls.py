"""``/api/v1/``: every app's API routes, collected."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api.urls")),
    path("", include("organizations.api.urls")),
    path("", include("projects.api.urls")),
    path("", include("tasks.api.urls")),
    path("", include("annotations.api.urls")),
    path("", include("media.api.urls")),
    path("", include("exports.api.urls")),
    path("", include("ml.api.urls")),
    path("", include("jobs.api.urls")),
    path("", include("audit.api.urls")),
]
