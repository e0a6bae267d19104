from annotator.api.routers import ApiRouter
from jobs.api import views

router = ApiRouter()
router.register("jobs", views.JobViewSet, basename="job")

urlpatterns = router.urls
