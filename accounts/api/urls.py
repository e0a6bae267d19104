from django.urls import path

from accounts.api import views
from annotator.api.routers import ApiRouter

router = ApiRouter()
router.register("me/tokens", views.ApiTokenViewSet, basename="api-token")
router.register("me/keys", views.KeyPairViewSet, basename="key-pair")

urlpatterns = [
    path("me", views.MeView.as_view(), name="me"),
    path("me/password", views.PasswordChangeView.as_view(), name="me-password"),
    *router.urls,
]
