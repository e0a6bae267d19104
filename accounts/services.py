"""Use cases for users and their API credentials."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from accounts.crypto import digest, encrypt, new_secret
from accounts.models import ApiToken, KeyPair, User
from audit.services import record_event
from organizations.models import Organization

TOKEN_PREFIX = "ann_"  # noqa: S105 (a marker, not a secret)


def _expiry(expires_in_days: int | None) -> datetime | None:
    days = settings.API_CREDENTIAL_DEFAULT_EXPIRY_DAYS if expires_in_days is None else expires_in_days
    return timezone.now() + timedelta(days=days) if days and days > 0 else None


@transaction.atomic
def create_api_token(
    *, user: User, organization: Organization, name: str, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """Create a token bound to ``organization``; returns the row and the plaintext (shown once)."""
    plaintext = TOKEN_PREFIX + new_secret(32)
    token = ApiToken.objects.create(
        user=user,
        organization=organization,
        name=name,
        prefix=plaintext[: len(TOKEN_PREFIX) + 6],
        digest=digest(plaintext),
        expires_at=_expiry(expires_in_days),
    )
    record_event(actor=user, organization=organization, action="credential.token_created", target=token)
    return token, plaintext


@transaction.atomic
def create_key_pair(
    *, user: User, organization: Organization, name: str, expires_in_days: int | None = None
) -> tuple[KeyPair, str]:
    """Create a key pair; returns the row and the private key (shown once, stored encrypted)."""
    private_key = str(uuid.uuid4())
    pair = KeyPair.objects.create(
        user=user,
        organization=organization,
        name=name,
        public_key=str(uuid.uuid4()),
        private_key_encrypted=encrypt(private_key),
        expires_at=_expiry(expires_in_days),
    )
    record_event(actor=user, organization=organization, action="credential.keypair_created", target=pair)
    return pair, private_key


@transaction.atomic
def revoke_credential(*, actor: User, credential: ApiToken | KeyPair) -> None:
    if credential.revoked_at is None:
        credential.revoked_at = timezone.now()
        credential.save(update_fields=["revoked_at"])
        record_event(actor=actor, organization=credential.organization, action="credential.revoked", target=credential)


def change_password(*, user: User, old_password: str | None, new_password: str, by: User | None = None) -> None:
    """Change a password after Django's validators; ``old_password`` is required for self-service."""
    from django.core.exceptions import ValidationError

    if by is None or by == user:
        from accounts.login_throttle import LoginThrottled, password_change_throttle

        throttle = password_change_throttle(user)
        try:
            throttle.check()
            if not old_password or not user.check_password(old_password):
                throttle.failed()
                raise ValidationError({"old_password": ["The current password is not correct."]})
        except LoginThrottled as exc:
            raise ValidationError({"old_password": exc.messages}) from None
        throttle.succeeded()
    try:
        validate_password(new_password, user=user)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages}) from None
    user.set_password(new_password)
    user.save(update_fields=["password"])
