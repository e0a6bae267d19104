"""Server-rendered portal pages. Every page reaches data through TenantView's scoping."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponseRedirect
from django.views.decorators.http import require_POST
from django.views.generic import ListView

from organizations.context import SESSION_KEY
from organizations.models import Membership
from organizations.services import switch_organization as switch_service
from projects.models import Project


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class TenantView(LoginRequiredMixin):
    """Base of every portal page over tenant data: queries start from the current
    organization, and ``required_permission`` is checked against the member's role."""

    required_permission: str | None = None
    model = None

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        membership = request.membership
        if not membership:
            raise PermissionDenied("You are not a member of any organization.")
        if self.required_permission and not membership.can(self.required_permission):
            raise PermissionDenied(f"Your role ({membership.role}) may not do this.")
        return super().dispatch(request, *args, **kwargs)

    def tenant_queryset(self, model=None):
        model = model or self.model
        return model.objects.for_organization(self.request.organization)


class ProjectListView(TenantView, ListView):
    model = Project
    required_permission = "project.view"
    template_name = "portal/project_list.html"
    context_object_name = "projects"
    paginate_by = 50

    def get_queryset(self):
        return self.tenant_queryset().annotate(label_count=Count("labels")).select_related("created_by")


@require_POST
def switch_organization(request):
    if not request.user.is_authenticated:
        return HttpResponseRedirect("/login/")
    membership = (
        Membership.objects.select_related("organization")
        .filter(user=request.user, organization__slug=request.POST.get("organization", ""))
        .first()
    )
    if membership is None:
        raise Http404("No such organization among yours.")
    switch_service(user=request.user, organization=membership.organization)
    request.session[SESSION_KEY] = membership.organization_id
    return HttpResponseRedirect("/")
