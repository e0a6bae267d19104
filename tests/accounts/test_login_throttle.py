"""Password guesses are throttled: portal and admin sign-in per username + address (and per
address across usernames), the current password of a password change per user. A lockout
refuses even the right password, says how long to wait, answers 429 with Retry-After, and
doubles when the guessing goes on; a successful sign-in clears the count."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.LOGIN_THROTTLE_FAILURES = 3
    settings.LOGIN_THROTTLE_WINDOW_SECONDS = 600
    settings.LOGIN_THROTTLE_LOCKOUT_SECONDS = 60
    settings.LOGIN_THROTTLE_MAX_LOCKOUT_SECONDS = 240


def sign_in(username, password, address="198.51.100.7", path="/login/"):
    return Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password})


def expire_lockouts(monkeypatch, seconds: float):
    import time

    now = time.time()
    monkeypatch.setattr("accounts.login_throttle.time.time", lambda: now + seconds)


def test_repeated_failures_lock_the_username_from_that_address_even_for_the_right_password(world_a):
    user = world_a.user("annotator").username
    assert sign_in(user, "wrong-1").status_code == 200
    assert sign_in(user, "wrong-2").status_code == 200
    locking = sign_in(user, "wrong-3")
    assert locking.status_code == 429 and locking["Retry-After"] == "60"
    assert "Too many failed attempts to sign in" in locking.content.decode()
    refused = sign_in(user, PASSWORD)  # the right password, while locked
    assert refused.status_code == 429 and "_auth_user_id" not in refused.wsgi_request.session
    assert "try again in 1 minute" in refused.content.decode()
    # Another address is not locked out (the pair is), and another user from here neither.
    assert sign_in(user, PASSWORD, address="203.0.113.9").status_code == 302
    assert sign_in(world_a.user("reviewer").username, PASSWORD).status_code == 302


def test_the_lockout_ends_and_doubles_if_guessing_goes_on_and_success_clears_it(world_a, monkeypatch):
    user = world_a.user("annotator").username
    for n in range(3):
        sign_in(user, f"wrong-{n}")
    expire_lockouts(monkeypatch, 61)
    for n in range(3):
        response = sign_in(user, f"again-{n}")
    assert response.status_code == 429 and response["Retry-After"] == "120"  # doubled
    expire_lockouts(monkeypatch, 61 + 121)
    assert sign_in(user, PASSWORD).status_code == 302  # right password after the lockout: in
    assert sign_in(user, "one-slip").status_code == 200  # the count started again from zero


def test_one_address_guessing_across_many_usernames_is_locked_out(world_a, settings):
    settings.LOGIN_THROTTLE_FAILURES = 1  # the address limit is ten times the pair's
    for n in range(10):
        sign_in(f"nobody-{n}", "guess")
    response = sign_in(world_a.owner.username, PASSWORD)
    assert response.status_code == 429 and "Too many failed attempts" in response.content.decode()


def test_admin_sign_in_is_throttled_too(world_a):
    from accounts.models import User

    admin = User.objects.create_superuser("root-admin", password=PASSWORD)
    for n in range(3):
        sign_in(admin.username, f"wrong-{n}", path="/admin/login/")
    response = sign_in(admin.username, PASSWORD, path="/admin/login/")
    assert response.status_code == 429 and "Too many failed attempts" in response.content.decode()


def test_wrong_current_passwords_lock_the_password_change(world_a):
    client = world_a.client("annotator")
    body = {"old_password": "not-it", "new_password": "a-New-password-42"}
    for _ in range(2):
        assert client.post("/api/v1/me/password", body, format="json").status_code == 400
    locked = client.post("/api/v1/me/password", body, format="json")
    assert locked.status_code == 400 and "Too many failed attempts" in locked.json()["errors"]["old_password"][0]
    right = client.post("/api/v1/me/password", {**body, "old_password": PASSWORD}, format="json")
    assert right.status_code == 400 and "Too many failed attempts" in right.json()["message"]


def test_the_throttle_keeps_counters_only(world_a):
    user = world_a.user("annotator").username
    sign_in(user, "secret-guess-123")
    keys = [key for key in cache._cache.get_client().keys("*login-throttle*")]
    assert keys and all(user.encode() not in key for key in keys)
    assert all(b"secret-guess-123" not in (cache._cache.get_client().get(key) or b"") for key in keys)
