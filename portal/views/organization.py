"""The organization page: who you are here, and the demo reset for the demo's owner."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse

from organizations.models import Membership
from portal.views.base import TenantView, confirmation_page, is_confirmed
from projects.models import LabelTemplate, Project

DEMO_LOST = [
    "every project, label, template, task and annotation of the demo organization",
    "members added to the demo beyond the demo users, and role changes",
    "its audit log",
]


class OrganizationView(TenantView):
    required_permissions = {"get": "organization.view"}

    def get(self, request):
        org = self.organization
        return self.render(
            "portal/organization.html",
            counts={
                "members": Membership.objects.for_organization(org).count(),
                "projects": Project.objects.for_organization(org).count(),
                "templates": LabelTemplate.objects.for_organization(org).count(),
            },
            demo_lost=DEMO_LOST,
        )


class DemoResetView(TenantView):
    """Delete the demo organization's data and load it fresh (owner of the demo only)."""

    required_permissions = {"post": "demo.reset"}

    def post(self, request):
        from demo.services import reset_demo

        if not self.organization.is_demo:
            raise PermissionDenied("Only the demo organization can be reset.")
        if not is_confirmed(request):
            return confirmation_page(
                self,
                title="Reset the demo organization?",
                lost=DEMO_LOST,
                button="Reset demo",
                cancel_url=reverse("portal:organization"),
            )
        reset_demo()
        # The organization was recreated: the session's choice points at a deleted row.
        request.session.pop("organization_id", None)
        user = request.user
        if not Membership.objects.filter(user=user).exists():
            logout(request)
            return redirect("portal:login")
        messages.success(request, "The demo organization has been reset to its original data.")
        return redirect("portal:home")
