from __future__ import annotations

import django_filters
from rest_framework import mixins

from annotator.api.filters import IsoDateTimeFilter, StrictFilterSet
from audit.api.serializers import AuditEventSerializer
from audit.models import AuditEvent
from organizations.api.base import TenantViewSet


class AuditEventFilter(StrictFilterSet):
    action = django_filters.CharFilter(lookup_expr="exact")
    action_prefix = django_filters.CharFilter(field_name="action", lookup_expr="startswith")
    actor = django_filters.CharFilter(field_name="actor__username")
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    since = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["action", "action_prefix", "actor", "object_type", "object_id", "since", "until"]


class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """The organization's append-only audit log (admins)."""

    model = AuditEvent
    serializer_class = AuditEventSerializer
    required_permissions = {"list": "audit.view", "retrieve": "audit.view"}
    filterset_class = AuditEventFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]

    def scope_queryset(self, queryset):
        return queryset.select_related("actor")
