from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from annotator import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("annotator.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    # Peer clients (Cytomine, the detection service): their own paths, before the portal.
    path("api/", include("compat.api.urls")),
    path("server/", include("compat.api.server_urls")),
    path("", include("portal.urls")),
]

handler404 = "annotator.views.not_found"
handler500 = "annotator.views.server_error"
handler403 = "annotator.views.forbidden"
handler400 = "annotator.views.bad_request"
