from annotator.api.routers import ApiRouter

router = ApiRouter()

urlpatterns = router.urls
