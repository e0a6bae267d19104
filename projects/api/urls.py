from annotator.api.routers import ApiRouter
from projects.api import views

router = ApiRouter()
router.register("projects", views.ProjectViewSet, basename="project")
router.register(r"projects/(?P<project_pk>[0-9]+)/labels", views.LabelViewSet, basename="project-label")
router.register("label-templates", views.LabelTemplateViewSet, basename="label-template")

urlpatterns = router.urls
