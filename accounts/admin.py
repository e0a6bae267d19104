from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import ApiToken, KeyPair, User
from organizations.models import Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["organization"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "is_active", "is_staff", "current_organization", "last_login", "date_joined"]
    list_filter = ["is_active", "is_staff", "memberships__role", "memberships__organization"]
    inlines = [MembershipInline]
    fieldsets = [*DjangoUserAdmin.fieldsets, ("Annotator", {"fields": ["current_organization"]})]


class CredentialAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "organization", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["organization", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "user__username"]
    readonly_fields = ["user", "organization", "created_at", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # created by users themselves: the secret is shown once to them only

    @admin.action(description="Revoke selected credentials")
    def revoke(self, request, queryset):
        from django.utils import timezone

        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


@admin.register(ApiToken)
class ApiTokenAdmin(CredentialAdmin):
    list_display = [*CredentialAdmin.list_display, "prefix"]
    exclude = ["digest"]


@admin.register(KeyPair)
class KeyPairAdmin(CredentialAdmin):
    list_display = [*CredentialAdmin.list_display, "public_key"]
    search_fields = [*CredentialAdmin.search_fields, "public_key"]
    exclude = ["private_key_encrypted"]
