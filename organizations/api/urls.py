from django.urls import path

from annotator.api.routers import ApiRouter
from organizations.api import views

router = ApiRouter()
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("members", views.MemberViewSet, basename="member")

urlpatterns = [
    path("organizations/current", views.CurrentOrganizationView.as_view(), name="organization-current"),
    *router.urls,
]
