"""The API side of the tenancy mechanism: every view that touches domain data derives
from :class:`TenantViewSet` or :class:`TenantAPIView`.

For each request they, in this order:

1. resolve the organization the caller acts in (``request.organization``) and their
   membership (``request.membership``);
2. resolve the objects named in the URL (parent project, the object itself) through
   ``Model.objects.for_organization(...)`` — a foreign or missing object is a 404 before
   anything else is said about it;
3. check the caller's role against the permission the action names (403 with the reason).

A view that forgets to name a permission for an action fails loudly (ImproperlyConfigured),
never open.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.http import Http404
from rest_framework import exceptions, permissions, viewsets
from rest_framework.views import APIView

from organizations.context import resolve_membership
from organizations.roles import PERMISSIONS, roles_with

MAX_ID = 2**63 - 1


def is_valid_id(value: Any) -> bool:
    """A database id from a URL: digits within the 64-bit range (else it cannot exist)."""
    text = str(value)
    return text.isdigit() and int(text) <= MAX_ID


class TenantContextMixin:
    """Organization resolution and role checks shared by viewsets and plain API views."""

    # action (viewset) or HTTP method in lower case (APIView) -> permission name
    required_permissions: ClassVar[dict[str, str | None]] = {}
    permission_classes = [permissions.IsAuthenticated]

    def get_required_permission(self, request) -> str | None:
        if hasattr(self, "action_map"):  # a viewset: unmapped methods answer 405 after this
            key = self.action
            if key is None:
                return None
        else:
            key = request.method.lower()
            if not hasattr(self, key):
                return None
        if key in ("metadata", "options"):
            return None
        try:
            return self.required_permissions[key]
        except KeyError:
            raise ImproperlyConfigured(
                f"{type(self).__name__} names no permission for '{key}' in required_permissions"
            ) from None

    def resolve_objects(self) -> None:
        """Hook: look up URL objects (404 first). Viewsets fetch their object here."""

    def check_permissions(self, request) -> None:
        super().check_permissions(request)  # authenticated?
        membership = resolve_membership(request, request.user, request.auth)
        if membership is None:
            raise exceptions.PermissionDenied("You are not a member of any organization; ask an admin to add you.")
        request.membership = membership
        request.organization = membership.organization
        self.resolve_objects()
        permission = self.get_required_permission(request)
        if permission is not None and not membership.can(permission):
            allowed = ", ".join(roles_with(permission))
            raise exceptions.PermissionDenied(
                f"Your role ({membership.role}) may not {PERMISSIONS[permission][0]}; that needs: {allowed}."
            )


class TenantViewSet(TenantContextMixin, viewsets.GenericViewSet):
    """Base for every viewset over a TenantModel."""

    model: ClassVar[Any] = None
    lookup_value_regex = r"[0-9]+"

    def scope_queryset(self, queryset):
        """Hook: select_related/prefetch/filters applied to every query of this view."""
        return queryset

    def get_queryset(self):
        if self.model is None:
            raise ImproperlyConfigured(f"{type(self).__name__}.model is not set")
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request context
            return self.model.objects.none()
        organization = getattr(self.request, "organization", None)
        return self.scope_queryset(self.model.objects.for_organization(organization))

    def resolve_objects(self) -> None:
        lookup = self.lookup_url_kwarg or self.lookup_field
        if lookup in self.kwargs:
            self.get_object()

    def get_object(self):
        cached = getattr(self, "_object", None)
        if cached is not None:
            return cached
        queryset = self.get_queryset()
        lookup = self.lookup_url_kwarg or self.lookup_field
        if not is_valid_id(self.kwargs[lookup]):
            raise Http404(f"No {queryset.model._meta.verbose_name} with id {self.kwargs[lookup]}.")
        try:
            obj = queryset.get(**{self.lookup_field: self.kwargs[lookup]})
        except (queryset.model.DoesNotExist, ValueError, TypeError, OverflowError):
            raise Http404(f"No {queryset.model._meta.verbose_name} with id {self.kwargs[lookup]}.") from None
        self._object = obj
        return obj


class ProjectChildViewSet(TenantViewSet):
    """A viewset nested under ``/projects/{project_pk}/``; the project is resolved first."""

    project_select_related: ClassVar[tuple[str, ...]] = ()

    def get_project(self):
        cached = getattr(self, "_project", None)
        if cached is not None:
            return cached
        from projects.models import Project

        organization = getattr(self.request, "organization", None)
        project = (
            Project.objects.for_organization(organization)
            .select_related(*self.project_select_related)
            .filter(pk=self.kwargs["project_pk"])
            .first()
            if is_valid_id(self.kwargs.get("project_pk"))
            else None
        )
        if project is None:
            raise Http404(f"No project with id {self.kwargs.get('project_pk')}.")
        self._project = project
        return project

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        return super().get_queryset().filter(project=self.get_project())

    def resolve_objects(self) -> None:
        self.get_project()
        super().resolve_objects()


class TenantAPIView(TenantContextMixin, APIView):
    """Base for non-viewset API endpoints; ``required_permissions`` is keyed by HTTP method."""
