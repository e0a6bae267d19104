from annotator.api.routers import ApiRouter
from audit.api import views

router = ApiRouter()
router.register("audit-events", views.AuditEventViewSet, basename="audit-event")

urlpatterns = router.urls
