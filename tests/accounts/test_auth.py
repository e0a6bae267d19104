"""Authentication: sessions (CSRF), tokens, key pairs (both Cytomine forms), revocation,
expiry, and the per-credential rate limit."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta
from email.utils import formatdate

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken, KeyPair
from accounts.services import create_api_token, create_key_pair, revoke_credential
from organizations.roles import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_token_authenticates_and_records_last_use(world_a):
    token, plaintext = create_api_token(user=world_a.owner, organization=world_a.org, name="ci")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}")
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["username"] == world_a.owner.username
    assert response.json()["role"] == "owner"
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_bearer_keyword_is_accepted(world_a):
    _, plaintext = create_api_token(user=world_a.owner, organization=world_a.org, name="ci")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert client.get("/api/v1/me").status_code == 200


def test_token_is_stored_hashed_and_shown_once(world_a):
    response = world_a.client().post("/api/v1/me/tokens", {"name": "laptop"}, format="json")
    assert response.status_code == 201
    plaintext = response.json()["token"]
    row = ApiToken.objects.get(pk=response.json()["id"])
    assert plaintext not in (row.digest, row.prefix)
    assert row.digest == hashlib.sha256(plaintext.encode()).hexdigest()
    listed = world_a.client().get("/api/v1/me/tokens").json()["results"]
    assert all("token" not in item for item in listed)


def test_unknown_token_is_401_with_message(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token ann_not-a-real-token")
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json() == {"message": "Unknown API token.", "code": "authentication_failed"}
    assert response["WWW-Authenticate"].startswith("Token")


def test_revoked_token_is_refused(world_a):
    token, plaintext = create_api_token(user=world_a.owner, organization=world_a.org, name="ci")
    revoke_credential(actor=world_a.owner, credential=token)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}")
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert "revoked" in response.json()["message"]


def test_revoking_through_the_api(world_a):
    client = world_a.client()
    created = client.post("/api/v1/me/tokens", {"name": "temp"}, format="json").json()
    assert client.delete(f"/api/v1/me/tokens/{created['id']}").status_code == 204
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {created['token']}")
    assert other.get("/api/v1/me").status_code == 401


def test_expired_token_is_refused(world_a):
    token, plaintext = create_api_token(user=world_a.owner, organization=world_a.org, name="ci", expires_in_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}")
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_another_users_token_cannot_be_revoked(world_a, world_b):
    token, _ = create_api_token(user=world_b.owner, organization=world_b.org, name="theirs")
    assert world_a.client().delete(f"/api/v1/me/tokens/{token.pk}").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_private_key_encrypted_at_rest(world_a):
    response = world_a.client().post("/api/v1/me/keys", {"name": "script"}, format="json")
    assert response.status_code == 201
    private = response.json()["private_key"]
    row = KeyPair.objects.get(pk=response.json()["id"])
    assert private not in row.private_key_encrypted
    assert row.private_key == private  # decrypts with the server key


def test_x_auth_token_pair(world_a):
    pair, private = create_key_pair(user=world_a.owner, organization=world_a.org, name="k")
    client = APIClient()
    response = client.get("/api/v1/me", HTTP_X_AUTH_TOKEN=pair.public_key, HTTP_X_AUTH_SECRET=private)
    assert response.status_code == 200
    bad = client.get("/api/v1/me", HTTP_X_AUTH_TOKEN=pair.public_key, HTTP_X_AUTH_SECRET="wrong")
    assert bad.status_code == 401
    assert "Wrong private key" in bad.json()["message"]


def _sign(private: str, message: str) -> str:
    return base64.b64encode(hmac.new(private.encode(), message.encode(), hashlib.sha1).digest()).decode()


@pytest.mark.parametrize("with_path", [False, True], ids=["current-client", "older-client-with-path"])
def test_cytomine_signed_request(world_a, with_path):
    pair, private = create_key_pair(user=world_a.owner, organization=world_a.org, name="k")
    date = formatdate(usegmt=True)
    message = f"GET\n\n\n{date}" + ("\n/api/v1/me" if with_path else "")
    client = APIClient()
    response = client.get(
        "/api/v1/me", HTTP_AUTHORIZATION=f"CYTOMINE {pair.public_key}:{_sign(private, message)}", HTTP_DATE=date
    )
    assert response.status_code == 200, response.content


def test_signed_request_with_stale_date_is_refused(world_a):
    pair, private = create_key_pair(user=world_a.owner, organization=world_a.org, name="k")
    date = formatdate(timezone.now().timestamp() - 3600, usegmt=True)
    signature = _sign(private, f"GET\n\n\n{date}")
    response = APIClient().get(
        "/api/v1/me", HTTP_AUTHORIZATION=f"CYTOMINE {pair.public_key}:{signature}", HTTP_DATE=date
    )
    assert response.status_code == 401
    assert "server clock" in response.json()["message"]


def test_signed_request_with_bad_signature_is_refused(world_a):
    pair, _ = create_key_pair(user=world_a.owner, organization=world_a.org, name="k")
    date = formatdate(usegmt=True)
    signature = _sign("not-the-key", f"GET\n\n\n{date}")
    response = APIClient().get(
        "/api/v1/me", HTTP_AUTHORIZATION=f"CYTOMINE {pair.public_key}:{signature}", HTTP_DATE=date
    )
    assert response.status_code == 401


def test_revoked_key_pair_is_refused(world_a):
    pair, private = create_key_pair(user=world_a.owner, organization=world_a.org, name="k")
    revoke_credential(actor=world_a.owner, credential=pair)
    response = APIClient().get("/api/v1/me", HTTP_X_AUTH_TOKEN=pair.public_key, HTTP_X_AUTH_SECRET=private)
    assert response.status_code == 401
    assert "revoked" in response.json()["message"]


def test_key_pair_acts_in_its_own_organization_only(world_a, world_b, make_project):
    # A user in both organizations: a key made in A never sees B's projects.
    from organizations.services import add_member

    add_member(actor=world_b.owner, organization=world_b.org, username=world_a.owner.username, role=Role.OWNER)
    make_project(world_b, name="B secret")
    pair, private = create_key_pair(user=world_a.owner, organization=world_a.org, name="k")
    client = APIClient()
    client.credentials(HTTP_X_AUTH_TOKEN=pair.public_key, HTTP_X_AUTH_SECRET=private)
    names = [p["name"] for p in client.get("/api/v1/projects").json()["results"]]
    assert "B secret" not in names
    assert client.get("/api/v1/projects", HTTP_X_ORGANIZATION=world_b.org.slug).status_code == 404


def test_session_login_and_csrf_on_writes(world_a):
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username=world_a.owner.username, password=PASSWORD)
    assert client.get("/api/v1/projects").status_code == 200
    response = client.post("/api/v1/projects", {"name": "x", "kind": "image"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]
    client.get("/")  # a page with a form sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    response = client.post("/api/v1/projects", {"name": "x", "kind": "image"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201


def test_session_user_switches_organization(world_a, world_b, make_project):
    from organizations.services import add_member

    add_member(actor=world_b.owner, organization=world_b.org, username=world_a.owner.username, role=Role.ANNOTATOR)
    make_project(world_b, name="in B")
    client = APIClient()
    client.force_login(world_a.owner)
    assert "in B" not in [p["name"] for p in client.get("/api/v1/projects").json()["results"]]
    response = client.post("/api/v1/organizations/switch", {"organization": world_b.org.slug}, format="json")
    assert response.status_code == 200
    assert "in B" in [p["name"] for p in client.get("/api/v1/projects").json()["results"]]
    assert client.get("/api/v1/me").json()["role"] == "annotator"


def test_rate_limit_per_credential_answers_429_with_retry_after(world_a, settings):
    settings.API_RATE_LIMIT = "3/60s"
    client = world_a.client()
    codes = [client.get("/api/v1/me").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = client.get("/api/v1/me")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Rate limit" in response.json()["message"]
    # Another credential has its own budget.
    _, other = create_api_token(user=world_a.owner, organization=world_a.org, name="second")
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Token {other}")
    assert fresh.get("/api/v1/me").status_code == 200


def test_the_rate_limit_counts_on_redis_in_one_window_key_that_expires(world_a, settings):
    from django.core.cache import cache

    settings.API_RATE_LIMIT = "5/60s"
    assert hasattr(cache._cache, "get_client"), "the suite runs on Redis"
    client = world_a.client()
    assert [client.get("/api/v1/me").status_code for _ in range(6)] == [200] * 5 + [429]
    redis = cache._cache.get_client(None, write=False)
    keys = [key for key in redis.scan_iter(match=cache.make_key("throttle:*"))]
    assert len(keys) == 1
    assert int(redis.get(keys[0])) == 6 and 0 < redis.ttl(keys[0]) <= 65


def test_the_rate_limit_works_on_the_local_memory_cache_too(world_a, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.API_RATE_LIMIT = "2/60s"
    client = world_a.client()
    assert [client.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 429]


def test_password_change_requires_current_password(world_a):
    client = world_a.client()
    bad = client.post(
        "/api/v1/me/password", {"old_password": "nope", "new_password": "An0ther-long-pass"}, format="json"
    )
    assert bad.status_code == 400
    assert "old_password" in bad.json()["errors"]
    weak = client.post("/api/v1/me/password", {"old_password": PASSWORD, "new_password": "123"}, format="json")
    assert weak.status_code == 400
    good = client.post(
        "/api/v1/me/password", {"old_password": PASSWORD, "new_password": "An0ther-long-pass"}, format="json"
    )
    assert good.status_code == 204
    world_a.owner.refresh_from_db()
    assert world_a.owner.check_password("An0ther-long-pass")


def test_secrets_never_reach_the_logs_or_the_audit_trail(world_a, caplog):
    """Everything logged at DEBUG while credentials are created, used, misused and revoked
    (request logs, auth failures, the audit trail) carries neither a token nor a private key."""
    import logging

    from audit.models import AuditEvent

    caplog.set_level(logging.DEBUG)
    owner = world_a.client()
    token = owner.post("/api/v1/me/tokens", {"name": "ci"}, format="json").json()["token"]
    keys = owner.post("/api/v1/me/keys", {"name": "script"}, format="json").json()
    public, private = keys["public_key"], keys["private_key"]
    client = APIClient()
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {token}x").status_code == 401
    assert client.get("/api/v1/me", HTTP_X_AUTH_TOKEN=public, HTTP_X_AUTH_SECRET=private).status_code == 200
    assert client.get("/api/v1/me", HTTP_X_AUTH_TOKEN=public, HTTP_X_AUTH_SECRET=private[:-2]).status_code == 401
    date = formatdate(usegmt=True)
    signature = _sign(private, f"GET\n\n\n{date}")
    signed = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"CYTOMINE {public}:{signature}", HTTP_DATE=date)
    assert signed.status_code == 200
    token_row = ApiToken.objects.get(user=world_a.owner, name="ci")
    assert owner.delete(f"/api/v1/me/tokens/{token_row.pk}").status_code == 204

    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert caplog.records  # the requests above were logged at all
    audit = "\n".join(f"{event.before} {event.after} {event.action}" for event in AuditEvent.objects.all())
    assert "token.created" in audit or "credential" in audit, audit[:500]
    for secret in (token, private, private[:-2]):
        assert secret not in logged
        assert secret not in audit
