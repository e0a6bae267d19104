"""The base of every portal page: sign-in, tenancy, role checks, and in-page confirmations.

Order of checks on every request (as in the API's TenantViewSet): signed in → member of an
organization → the objects named in the URL, looked up inside the current organization
(404 for anything foreign) → the permission the HTTP method needs (403).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import render
from django.views.generic.base import ContextMixin, View

from organizations.api.base import is_valid_id
from organizations.roles import PERMISSIONS, roles_with


class Can:
    """The member's permissions for templates: ``{% if can.project_create %}``."""

    def __init__(self, membership):
        self._membership = membership

    def __getitem__(self, name: str) -> bool:
        permission = name.replace("_", ".", 1)
        if permission not in PERMISSIONS:
            raise KeyError(name)
        return bool(self._membership) and self._membership.can(permission)


class TenantView(LoginRequiredMixin, ContextMixin, View):
    """Base of every portal page over tenant data.

    ``required_permissions`` maps a lower-case HTTP method to the permission it needs
    (``None`` = any member). ``resolve_objects()`` looks up the URL's objects first.
    """

    required_permissions: ClassVar[dict[str, str | None]] = {}
    model: ClassVar[Any] = None

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        membership = request.membership
        if not membership:
            raise PermissionDenied("You are not a member of any organization; ask an admin to add you.")
        self.membership = membership
        self.organization = membership.organization
        method = request.method.lower()
        if method == "head":
            method = "get"
        if hasattr(self, method):
            self.resolve_objects()
            permission = self.permission_for(method)
            if permission is not None and not membership.can(permission):
                allowed = ", ".join(roles_with(permission))
                raise PermissionDenied(
                    f"Your role ({membership.role}) may not {PERMISSIONS[permission][0]}; that needs: {allowed}."
                )
        return super().dispatch(request, *args, **kwargs)

    def permission_for(self, method: str) -> str | None:
        try:
            return self.required_permissions[method]
        except KeyError:
            raise ImproperlyConfigured(f"{type(self).__name__} names no permission for '{method}'") from None

    def resolve_objects(self) -> None:
        """Hook: look up the URL's objects inside the organization (404 first)."""

    def tenant_queryset(self, model=None):
        model = model or self.model
        return model.objects.for_organization(self.organization)

    def get_tenant_object(self, model=None, pk=None, queryset=None):
        queryset = queryset if queryset is not None else self.tenant_queryset(model)
        pk = self.kwargs["pk"] if pk is None else pk
        if not is_valid_id(pk):
            raise Http404
        obj = queryset.filter(pk=pk).first()
        if obj is None:
            raise Http404(f"No {queryset.model._meta.verbose_name} with id {pk}.")
        return obj

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("can", Can(self.membership))
        context.setdefault("organization", self.organization)
        return context

    def render(self, template_name: str, /, status: int = 200, **context):
        return render(self.request, template_name, self.get_context_data(**context), status=status)


class ProjectChildMixin:
    """Views under ``projects/<project_pk>/``: the project is found in the organization first."""

    def resolve_objects(self) -> None:
        from projects.models import Project

        self.project = self.get_tenant_object(Project, pk=self.kwargs["project_pk"])
        if "pk" in self.kwargs:
            self.object = self.get_tenant_object(queryset=self.tenant_queryset().filter(project=self.project))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["project"] = self.project
        return context


class ObjectMixin:
    """Views over one object named by ``<pk>`` in the URL (``model`` set on the view)."""

    def object_queryset(self):
        return self.tenant_queryset()

    def resolve_objects(self) -> None:
        self.object = self.get_tenant_object(queryset=self.object_queryset())


def is_confirmed(request) -> bool:
    """Dangerous actions carry ``confirmed=yes`` (set by the in-page dialog or the fallback page)."""
    return request.POST.get("confirmed") == "yes"


def confirmation_page(view: TenantView, *, title: str, lost: list[str], button: str, cancel_url: str, note: str = ""):
    """The page shown when a dangerous form arrives without confirmation (no JavaScript):
    the same question the in-page dialog asks, with a form that repeats the POST."""
    fields = [
        (k, v)
        for k, values in view.request.POST.lists()
        if k not in ("csrfmiddlewaretoken", "confirmed")
        for v in values
    ]
    return view.render(
        "portal/confirm.html",
        confirm_title=title,
        lost=lost,
        button=button,
        note=note,
        action=view.request.path,
        fields=fields,
        cancel_url=cancel_url,
    )


def add_service_errors(form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: per field where the form has it."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            target = field if field in form.fields else None
            for message in errors:
                form.add_error(target, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


def error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(getattr(exc, "detail", exc))


def flash_errors(request, exc: Exception) -> None:
    messages.error(request, error_text(exc))
