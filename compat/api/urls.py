"""Routes under ``/api/``: Cytomine's paths (each with and without ``.json``, never redirected)
and the detection-service contract. Included by ``annotator/urls.py`` before the portal."""

from django.urls import re_path

from compat.api import annotations, cytomine, detection, images


def cytomine_path(route: str, view, name: str):
    """``route`` answers as it is and with Cytomine's ``.json`` suffix (no redirect either way)."""
    return re_path(rf"^{route}(?:\.json)?$", view.as_view(), name=f"cytomine-{name}")


ID = r"(?P<id>[0-9]+)"

urlpatterns = [
    cytomine_path(r"user/current", cytomine.CurrentUserView, "current-user"),
    cytomine_path(r"currentuser", cytomine.CurrentUserAliasView, "currentuser"),
    cytomine_path(r"project", cytomine.ProjectListView, "projects"),
    cytomine_path(rf"project/{ID}", cytomine.ProjectDetailView, "project"),
    cytomine_path(rf"project/{ID}/imageinstance", cytomine.ProjectImageListView, "project-images"),
    cytomine_path(rf"project/{ID}/term", cytomine.ProjectTermListView, "project-terms"),
    cytomine_path(r"ontology", cytomine.OntologyListView, "ontologies"),
    cytomine_path(rf"ontology/{ID}", cytomine.OntologyDetailView, "ontology"),
    cytomine_path(rf"ontology/{ID}/term", cytomine.OntologyTermListView, "ontology-terms"),
    cytomine_path(rf"ontology/{ID}/project", cytomine.OntologyProjectListView, "ontology-projects"),
    cytomine_path(r"term", cytomine.TermListView, "terms"),
    cytomine_path(rf"term/{ID}", cytomine.TermDetailView, "term"),
    cytomine_path(rf"imageinstance/{ID}", cytomine.ImageDetailView, "image"),
    re_path(
        rf"^imageinstance/{ID}/window-(?P<x>-?[0-9]+)-(?P<y>-?[0-9]+)-(?P<w>[0-9]+)-(?P<h>[0-9]+)"
        r"\.(?P<ext>jpg|jpeg|png|tif|tiff)$",
        images.WindowView.as_view(),
        name="cytomine-window",
    ),
    re_path(
        rf"^imageinstance/{ID}/thumb\.(?P<ext>jpg|jpeg|png|tif|tiff)$",
        images.ThumbView.as_view(),
        name="cytomine-thumb",
    ),
    re_path(rf"^imageinstance/{ID}/download$", images.DownloadView.as_view(), name="cytomine-download"),
    cytomine_path(r"annotation", annotations.AnnotationListView, "annotations"),
    cytomine_path(rf"annotation/{ID}", annotations.AnnotationDetailView, "annotation"),
    # The detection-service contract (its clients send both /api/detect and /api/detect/).
    re_path(r"^detect/?$", detection.DetectView.as_view(), name="detection-detect"),
    re_path(r"^data/getRecent/?$", detection.RecentView.as_view(), name="detection-recent"),
    re_path(r"^data/statByDate/?$", detection.StatByDateView.as_view(), name="detection-stat-by-date"),
    re_path(r"^data/getPaginated/?$", detection.PaginatedView.as_view(), name="detection-paginated"),
    re_path(r"^data/search/?$", detection.SearchView.as_view(), name="detection-search"),
]
