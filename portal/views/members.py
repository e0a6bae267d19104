"""Members (list, add, change role, remove) and the audit log."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.urls import reverse

from organizations.models import Membership
from organizations.services import add_member, change_role, remove_member
from portal.forms import AuditFilterForm, MemberAddForm, RoleForm
from portal.selectors import audit_actions, audit_events
from portal.views.base import (
    ObjectMixin,
    TenantView,
    add_service_errors,
    confirmation_page,
    flash_errors,
    is_confirmed,
)

AUDIT_PAGE_SIZE = 50


class MemberListView(TenantView):
    """Members of the organization; POST adds one (an existing user or a new one)."""

    required_permissions = {"get": "member.view", "post": "member.manage"}
    model = Membership

    def page(self, status=200, form=None):
        members = self.tenant_queryset().select_related("user").order_by("user__username")
        return self.render(
            "portal/members.html",
            status=status,
            members=members,
            form=form or MemberAddForm(),
            role_form=RoleForm(),
        )

    def get(self, request):
        return self.page()

    def post(self, request):
        form = MemberAddForm(request.POST)
        if form.is_valid():
            try:
                membership, created = add_member(
                    actor=request.user,
                    organization=self.organization,
                    username=form.cleaned_data["username"],
                    role=form.cleaned_data["role"],
                    email=form.cleaned_data["email"],
                    password=form.cleaned_data["password"] or None,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                what = "Created and added" if created else "Added"
                messages.success(request, f"{what} {membership.user.username} as {membership.get_role_display()}.")
                return redirect("portal:members")
        return self.page(status=400, form=form)


class MemberRoleView(ObjectMixin, TenantView):
    required_permissions = {"post": "member.manage"}
    model = Membership

    def post(self, request, pk):
        form = RoleForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose one of the roles.")
            return redirect("portal:members")
        membership = self.object
        try:
            change_role(actor=request.user, membership=membership, role=form.cleaned_data["role"])
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, f"{membership.user.username} is now {membership.get_role_display()}.")
        return redirect("portal:members")


class MemberRemoveView(ObjectMixin, TenantView):
    required_permissions = {"post": "member.manage"}
    model = Membership

    def post(self, request, pk):
        membership = self.object
        username = membership.user.username
        if not is_confirmed(request):
            return confirmation_page(
                self,
                title=f"Remove {username} from {self.organization.name}?",
                lost=[f"{username}'s access to every project of {self.organization.name}"],
                button="Remove member",
                cancel_url=reverse("portal:members"),
                note="Their past work and the audit log stay.",
            )
        try:
            remove_member(actor=request.user, membership=membership)
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, f"Removed {username} from {self.organization.name}.")
        return redirect("portal:members")


class AuditLogView(TenantView):
    required_permissions = {"get": "audit.view"}

    def get(self, request):
        members = (
            Membership.objects.for_organization(self.organization).select_related("user").order_by("user__username")
        )
        form = AuditFilterForm(
            request.GET or None,
            actions=audit_actions(self.organization),
            actors=[(m.user_id, m.user.username) for m in members],
        )
        filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
        events = audit_events(
            self.organization,
            action=filters.get("action", ""),
            actor_id=filters.get("actor", ""),
            date_from=filters.get("date_from"),
            date_to=filters.get("date_to"),
        )
        page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
        query = urlencode({k: v for k, v in request.GET.items() if k != "page" and v})
        return self.render(
            "portal/audit.html",
            status=200 if not form.is_bound or form.is_valid() else 400,
            form=form,
            page=page,
            query=query,
        )
