from __future__ import annotations

from django.contrib.auth import update_session_auth_hash
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from accounts import services
from accounts.api.serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenSerializer,
    CredentialCreateSerializer,
    KeyPairCreatedSerializer,
    KeyPairSerializer,
    MeSerializer,
    PasswordChangeSerializer,
)
from accounts.models import ApiToken, KeyPair
from organizations.api.base import TenantAPIView, TenantContextMixin, is_valid_id


class MeView(TenantAPIView):
    """The signed-in user and their role in the current organization."""

    required_permissions = {"get": None}

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user, context={"membership": request.membership}).data)


class PasswordChangeView(TenantAPIView):
    required_permissions = {"post": None}

    @extend_schema(request=PasswordChangeSerializer, responses={204: None})
    def post(self, request):
        """Change your own password (the current one is required)."""
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.change_password(user=request.user, **serializer.validated_data)
        if hasattr(request, "session"):
            update_session_auth_hash(request._request, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _OwnCredentialViewSet(TenantContextMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's own credentials; creation binds the new one to the current organization."""

    model = None
    created_serializer = None
    create_service = None
    required_permissions = {"list": None, "create": None, "destroy": None}
    lookup_value_regex = r"[0-9]+"
    filter_backends: list = []

    def get_queryset(self):
        return self.model.objects.filter(user=self.request.user).select_related("organization")

    def create(self, request):
        serializer = CredentialCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        credential, secret = type(self).create_service(
            user=request.user, organization=request.organization, **serializer.validated_data
        )
        data = self.created_serializer(credential).data
        data[self.secret_field] = secret
        return Response(data, status=status.HTTP_201_CREATED)

    def destroy(self, request, pk=None):
        """Revoke (the row stays, for the audit trail)."""
        credential = self.get_queryset().filter(pk=pk).first() if is_valid_id(pk) else None
        if credential is None:
            raise Http404("No such credential of yours.")
        services.revoke_credential(actor=request.user, credential=credential)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiTokenViewSet(_OwnCredentialViewSet):
    model = ApiToken
    serializer_class = ApiTokenSerializer
    created_serializer = ApiTokenCreatedSerializer
    create_service = staticmethod(services.create_api_token)
    secret_field = "token"  # noqa: S105

    @extend_schema(request=CredentialCreateSerializer, responses={201: ApiTokenCreatedSerializer})
    def create(self, request):
        return super().create(request)


class KeyPairViewSet(_OwnCredentialViewSet):
    model = KeyPair
    serializer_class = KeyPairSerializer
    created_serializer = KeyPairCreatedSerializer
    create_service = staticmethod(services.create_key_pair)
    secret_field = "private_key"  # noqa: S105

    @extend_schema(request=CredentialCreateSerializer, responses={201: KeyPairCreatedSerializer})
    def create(self, request):
        return super().create(request)
