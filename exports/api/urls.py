from django.urls import path

from annotator.api.routers import ApiRouter
from exports.api import views

router = ApiRouter()
router.register(r"projects/(?P<project_pk>[0-9]+)/exports", views.ProjectExportViewSet, basename="project-export")
router.register(
    r"projects/(?P<project_pk>[0-9]+)/annotation-imports",
    views.ProjectImportViewSet,
    basename="project-annotation-import",
)
router.register("exports", views.ExportViewSet, basename="export")
router.register("annotation-imports", views.ImportViewSet, basename="annotation-import")

urlpatterns = [
    path("exports/formats", views.ExportFormatsView.as_view(), name="export-formats"),
    path("exports/signed-download", views.SignedExportDownloadView.as_view(), name="export-signed-download"),
    *router.urls,
]
