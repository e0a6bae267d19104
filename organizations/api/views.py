from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from annotator.api.errors import ApiError
from organizations import services
from organizations.api.base import TenantAPIView, TenantViewSet
from organizations.api.serializers import (
    MemberCreateSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    OrganizationRenameSerializer,
    OrganizationSerializer,
    SwitchOrganizationSerializer,
)
from organizations.context import SESSION_KEY, resolve_membership
from organizations.models import Membership, Organization


class OrganizationViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Organizations the caller belongs to. Anyone signed in may create a new one (as owner)."""

    serializer_class = OrganizationSerializer
    permission_classes = [IsAuthenticated]
    pagination_class = None
    filter_backends: list = []

    def get_queryset(self):
        return Organization.objects.filter(memberships__user=self.request.user).order_by("name")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        user = self.request.user
        if user.is_authenticated:
            context["roles"] = dict(Membership.objects.filter(user=user).values_list("organization_id", "role"))
            current = resolve_membership(self.request, user, self.request.auth)
            context["current_id"] = current.organization_id if current else None
        return context

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.create_organization(
            name=data["name"], slug=data.get("slug"), owner=self.request.user
        )

    @extend_schema(request=SwitchOrganizationSerializer, responses=OrganizationSerializer)
    @action(detail=False, methods=["post"])
    def switch(self, request):
        """Work in another of your organizations (remembered for the portal and unbound use)."""
        serializer = SwitchOrganizationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        org = self.get_queryset().filter(slug=serializer.validated_data["organization"]).first()
        if org is None:
            raise ApiError("No such organization among yours.", code="not_found", status_code=404)
        services.switch_organization(user=request.user, organization=org)
        if hasattr(request, "session"):
            request.session[SESSION_KEY] = org.pk
        return Response(self.get_serializer(org).data)


class CurrentOrganizationView(TenantAPIView):
    """The organization this request acts in."""

    required_permissions = {"get": "organization.view", "patch": "organization.change"}

    @extend_schema(responses=OrganizationSerializer)
    def get(self, request):
        return Response(self._out(request, request.organization))

    @extend_schema(request=OrganizationRenameSerializer, responses=OrganizationSerializer)
    def patch(self, request):
        from audit.services import record_event

        org = request.organization
        serializer = OrganizationRenameSerializer(org, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            before = {"name": org.name}
            serializer.save()
            record_event(
                actor=request.user,
                organization=org,
                action="organization.renamed",
                target=org,
                before=before,
                after={"name": org.name},
            )
        return Response(self._out(request, org))

    def _out(self, request, org):
        return OrganizationSerializer(
            org, context={"roles": {org.pk: request.membership.role}, "current_id": org.pk}
        ).data


class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, TenantViewSet):
    """Members of the current organization and their roles."""

    model = Membership
    serializer_class = MemberSerializer
    required_permissions = {
        "list": "member.view",
        "retrieve": "member.view",
        "create": "member.manage",
        "partial_update": "member.manage",
        "destroy": "member.manage",
    }
    filterset_fields = ["role"]
    ordering_fields = ["created_at", "role", "user__username"]
    ordering = ["user__username"]

    def scope_queryset(self, queryset):
        return queryset.select_related("user", "organization")

    @extend_schema(request=MemberCreateSerializer, responses={201: MemberSerializer})
    def create(self, request):
        """Add an existing user by username, or create the user with an initial password."""
        serializer = MemberCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership, _ = services.add_member(
            actor=request.user, organization=request.organization, **serializer.validated_data
        )
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MemberRoleSerializer, responses=MemberSerializer)
    def partial_update(self, request, pk=None):
        serializer = MemberRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.change_role(
            actor=request.user, membership=self.get_object(), role=serializer.validated_data["role"]
        )
        return Response(MemberSerializer(membership).data)

    def perform_destroy(self, instance):
        services.remove_member(actor=self.request.user, membership=instance)
