from __future__ import annotations

from rest_framework import serializers

from accounts.models import ApiToken, KeyPair, User
from annotator.api.serializers import StrictSerializer


class MeSerializer(serializers.ModelSerializer):
    email = serializers.CharField(read_only=True, help_text="May be empty.")  # "" is not an email format
    organization = serializers.SerializerMethodField()
    role = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "organization", "role"]
        read_only_fields = fields

    def get_organization(self, user) -> str | None:
        membership = self.context.get("membership")
        return membership.organization.slug if membership else None

    def get_role(self, user) -> str | None:
        membership = self.context.get("membership")
        return membership.role if membership else None


class PasswordChangeSerializer(StrictSerializer):
    old_password = serializers.CharField(max_length=128, write_only=True)
    new_password = serializers.CharField(max_length=128, write_only=True)


class CredentialCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)
    expires_in_days = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=3650,
        help_text="Lifetime in days; 0 = never expires; default from API_CREDENTIAL_DEFAULT_EXPIRY_DAYS.",
    )


class _CredentialFields(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    is_active = serializers.SerializerMethodField()

    def get_is_active(self, obj) -> bool:
        return not obj.is_revoked and not obj.is_expired


class ApiTokenSerializer(_CredentialFields):
    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "organization",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "is_active",
        ]
        read_only_fields = fields


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown only now; store it safely.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class KeyPairSerializer(_CredentialFields):
    class Meta:
        model = KeyPair
        fields = [
            "id",
            "name",
            "public_key",
            "organization",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "is_active",
        ]
        read_only_fields = fields


class KeyPairCreatedSerializer(KeyPairSerializer):
    private_key = serializers.CharField(read_only=True, help_text="Shown only now; store it safely.")

    class Meta(KeyPairSerializer.Meta):
        fields = [*KeyPairSerializer.Meta.fields, "private_key"]
        read_only_fields = fields
