from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class User(AbstractUser):
    """A person. Belongs to organizations through memberships."""

    # The organization the portal opens on and that unbound credentials act in.
    current_organization = models.ForeignKey(
        "organizations.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )


class CredentialQuerySet(models.QuerySet):
    def usable(self) -> CredentialQuerySet:
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class Credential(models.Model):
    """What API tokens and key pairs share: owner, organization, lifetime, last use."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    # A credential acts in exactly one organization, with its owner's role there.
    organization = models.ForeignKey("organizations.Organization", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = CredentialQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def throttle_key(self) -> str:
        return f"{self._meta.model_name}:{self.pk}"


class ApiToken(Credential):
    """A personal API token. Only its SHA-256 digest is stored; shown once at creation."""

    prefix = models.CharField(max_length=12, help_text="First characters, to recognise the token")
    digest = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class KeyPair(Credential):
    """A public/private key pair for signed requests (Cytomine-style HMAC-SHA1).

    The private key is encrypted at rest and shown once at creation.
    """

    public_key = models.CharField(max_length=64, unique=True)
    private_key_encrypted = models.TextField()

    def __str__(self) -> str:
        return f"{self.name} ({self.public_key})"

    @property
    def private_key(self) -> str:
        from accounts.crypto import decrypt

        return decrypt(self.private_key_encrypted)
