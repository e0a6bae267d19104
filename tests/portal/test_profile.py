"""Profile: change password, API tokens and key pairs (secret shown once, list, revoke)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken, KeyPair
from accounts.services import create_api_token
from organizations.roles import Role
from tests.conftest import PASSWORD
from tests.portal.conftest import has_form, text

pytestmark = pytest.mark.django_db


def test_change_password(world_a, signed_in):
    client = signed_in(world_a, Role.ANNOTATOR)
    new = "a-much-better-passphrase-7"
    response = client.post(
        reverse("portal:password"), {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    user = world_a.user(Role.ANNOTATOR)
    user.refresh_from_db()
    assert user.check_password(new)
    assert client.get(reverse("portal:profile")).status_code == 200  # still signed in


def test_password_errors_are_shown(world_a, signed_in):
    client = signed_in(world_a, Role.ANNOTATOR)
    wrong = client.post(
        reverse("portal:password"), {"old_password": "nope", "new_password1": "x" * 12, "new_password2": "x" * 12}
    )
    assert wrong.status_code == 400 and "current password is not correct" in text(wrong)
    weak = client.post(
        reverse("portal:password"), {"old_password": PASSWORD, "new_password1": "123", "new_password2": "123"}
    )
    assert weak.status_code == 400
    assert "too short" in text(weak) and "entirely numeric" in text(weak)
    differ = client.post(
        reverse("portal:password"),
        {"old_password": PASSWORD, "new_password1": "long-enough-pass-1", "new_password2": "long-enough-pass-2"},
    )
    assert differ.status_code == 400 and "two new passwords differ" in text(differ)
    user = world_a.user(Role.ANNOTATOR)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_create_a_token_shows_it_once_and_it_works(world_a, signed_in):
    client = signed_in(world_a, Role.ANNOTATOR)
    response = client.post(reverse("portal:token-create"), {"name": "pipeline", "expires_in_days": "30"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    secret = response.context["new_secret"]
    assert secret.startswith("ann_") and secret in text(response) and "shown only once" in text(response)
    token = ApiToken.objects.get(name="pipeline")
    assert token.organization == world_a.org and token.user == world_a.user(Role.ANNOTATOR)
    assert (token.expires_at - timezone.now()).days in (29, 30)
    api = client_with_token(secret).get("/api/v1/projects")
    assert api.status_code == 200
    again = text(client.get(reverse("portal:profile")))
    assert secret not in again and token.prefix in again and "pipeline" in again
    token.refresh_from_db()
    assert token.last_used_at is not None


def client_with_token(secret):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def test_create_a_key_pair_shows_the_private_key_once(world_a, signed_in):
    client = signed_in(world_a, Role.REVIEWER)
    response = client.post(reverse("portal:key-create"), {"name": "cytomine", "expires_in_days": "0"})
    pair = KeyPair.objects.get(name="cytomine")
    assert pair.public_key in text(response) and pair.private_key in text(response)
    assert pair.expires_at is None
    assert pair.private_key not in text(client.get(reverse("portal:profile")))


def test_credential_form_errors(world_a, signed_in):
    client = signed_in(world_a, Role.REVIEWER)
    response = client.post(reverse("portal:token-create"), {"name": "", "expires_in_days": "-1"})
    assert response.status_code == 400 and "This field is required." in text(response)
    assert not ApiToken.objects.filter(user=world_a.user(Role.REVIEWER)).exists()


def test_revoke_is_confirmed_in_the_page(world_a, signed_in):
    user = world_a.user(Role.MANAGER)
    token, _ = create_api_token(user=user, organization=world_a.org, name="old")
    client = signed_in(world_a, Role.MANAGER)
    page = client.get(reverse("portal:profile"))
    assert has_form(page, reverse("portal:token-revoke", args=[token.pk])) and "data-confirm" in text(page)
    ask = client.post(reverse("portal:token-revoke", args=[token.pk]))
    assert "Revoke the API token “old”?" in text(ask)
    token.refresh_from_db()
    assert token.revoked_at is None
    client.post(reverse("portal:token-revoke", args=[token.pk]), {"confirmed": "yes"})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "revoked" in text(client.get(reverse("portal:profile")))


def test_someone_elses_credentials_do_not_exist(world_a, world_b, signed_in):
    colleague, _ = create_api_token(user=world_a.owner, organization=world_a.org, name="theirs")
    stranger, _ = create_api_token(user=world_b.owner, organization=world_b.org, name="far")
    client = signed_in(world_a, Role.ADMIN)
    assert "theirs" not in text(client.get(reverse("portal:profile")))
    for token in (colleague, stranger):
        assert client.post(reverse("portal:token-revoke", args=[token.pk]), {"confirmed": "yes"}).status_code == 404
        token.refresh_from_db()
        assert token.revoked_at is None
    pair = world_b.key_pair()[0]
    assert client.post(reverse("portal:key-revoke", args=[pair.pk]), {"confirmed": "yes"}).status_code == 404
