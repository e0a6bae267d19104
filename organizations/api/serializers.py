from __future__ import annotations

from rest_framework import serializers

from annotator.api.serializers import StrictModelSerializer, StrictSerializer
from organizations.models import Membership, Organization
from organizations.roles import Role


class OrganizationSerializer(StrictModelSerializer):
    role = serializers.SerializerMethodField()
    is_current = serializers.SerializerMethodField()

    class Meta:
        model = Organization
        fields = ["id", "slug", "name", "created_at", "role", "is_current"]
        read_only_fields = ["id", "created_at", "role", "is_current"]
        extra_kwargs = {"slug": {"required": False}}

    def get_role(self, org) -> str | None:
        roles = self.context.get("roles", {})
        return roles.get(org.pk)

    def get_is_current(self, org) -> bool:
        return org.pk == self.context.get("current_id")


class OrganizationRenameSerializer(StrictModelSerializer):
    class Meta:
        model = Organization
        fields = ["name"]


class SwitchOrganizationSerializer(StrictSerializer):
    organization = serializers.SlugField(help_text="Slug of one of your organizations.")


class MemberSerializer(StrictModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.CharField(source="user.email", read_only=True, help_text="May be empty.")
    user_id = serializers.IntegerField(source="user.id", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user_id", "username", "email", "role", "created_at"]
        read_only_fields = ["id", "user_id", "username", "email", "created_at"]


class MemberCreateSerializer(StrictSerializer):
    username = serializers.RegexField(
        r"^[\w.@+-]{1,150}$", max_length=150, help_text="An existing user, or the name of a new one."
    )
    role = serializers.ChoiceField(choices=Role.choices)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    password = serializers.CharField(
        required=False, write_only=True, max_length=128, help_text="Initial password when creating a new user."
    )


class MemberRoleSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=Role.choices)
