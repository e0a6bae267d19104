"""Production security settings, checked where they take effect.

* ``manage.py check --deploy`` is clean for the production settings (TLS on), and does warn
  without TLS (the check is not vacuous).
* A real daphne with the production security settings behind a TLS proxy: HSTS,
  ``X-Content-Type-Options``, frame options, the portal's Content-Security-Policy, Secure +
  HttpOnly + SameSite cookies, HTTP redirected to HTTPS, CSRF refused/accepted on a
  session-authenticated API write.
* Every portal form refuses a POST without a CSRF token (generated from the URL conf).
* Passwords: PBKDF2 in production, Django's validators on every way to set one.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys

import httpx
import pytest
from django.test import Client

from tests.hardening.stack import ROOT, Daphne
from tests.routes import all_routes

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "annotator.settings",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "SECURE_TLS": "true",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "annotator.example.com,127.0.0.1",
    "CSRF_TRUSTED_ORIGINS": "https://annotator.example.com",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "TEST_"))}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_for_the_production_settings(tmp_path):
    env = {**PRODUCTION_ENV, "ANNOTATOR_DATA_DIR": str(tmp_path)}
    env.setdefault("DATABASE_URL", os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/annotator"))
    env.setdefault("REDIS_URL", os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"))
    clean = _manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "no issues" in clean.stdout
    without_tls = _manage("check", "--deploy", "--fail-level", "WARNING", **{**env, "SECURE_TLS": "false"})
    assert without_tls.returncode != 0 and "security.W004" in without_tls.stderr + without_tls.stdout


def test_production_hashes_passwords_with_pbkdf2_or_stronger(tmp_path):
    env = {**PRODUCTION_ENV, "ANNOTATOR_DATA_DIR": str(tmp_path)}
    probe = _manage(
        "shell",
        "-c",
        "from django.conf import settings; from django.contrib.auth.hashers import make_password; "
        "print(settings.PASSWORD_HASHERS[0]); print(make_password('x').split('$')[:2])",
        **env,
    )
    assert probe.returncode == 0, probe.stderr
    first, stored = probe.stdout.strip().splitlines()[-2:]
    assert first.endswith(("PBKDF2PasswordHasher", "Argon2PasswordHasher", "ScryptPasswordHasher"))
    algorithm, iterations = eval(stored)  # noqa: S307 - our own subprocess's repr of a list
    assert algorithm == "pbkdf2_sha256" and int(iterations) >= 1_000_000


@pytest.mark.django_db
@pytest.mark.parametrize("password", ["short", "password1234", "12345678901234", "{username}"])
def test_weak_passwords_are_refused_everywhere_a_password_is_set(world_a, password):
    owner = world_a.client("owner")
    annotator = world_a.user("annotator")
    username = f"new-member-{secrets.token_hex(3)}"
    created = owner.post(
        "/api/v1/members",
        {"username": username, "role": "annotator", "password": password.format(username=username)},
    )
    assert created.status_code == 400 and "password" in created.json()["errors"], created.json()
    changed = world_a.client("annotator").post(
        "/api/v1/me/password",
        {"old_password": "correct-horse-battery-9", "new_password": password.format(username=annotator.username)},
    )
    assert changed.status_code == 400 and "new_password" in changed.json()["errors"]


# --- headers, cookies and CSRF on a real server ------------------------------------------------
@pytest.fixture
def tls_server(stack_env, start, tmp_path):
    env = stack_env(**{k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SETTINGS_MODULE"})
    return start(Daphne(env=env, log_dir=tmp_path / "logs"))


@pytest.mark.django_db(transaction=True)
def test_security_headers_cookies_and_csrf_end_to_end(tls_server, world_a):
    https = {"X-Forwarded-Proto": "https", "Host": "annotator.example.com"}
    with httpx.Client(base_url=tls_server.url, headers=https, follow_redirects=False, timeout=30) as browser:
        plain = httpx.get(f"{tls_server.url}/login/", headers={"Host": "annotator.example.com"}, timeout=30)
        assert plain.status_code == 301 and plain.headers["location"].startswith("https://annotator.example.com/")

        page = browser.get("/login/")
        assert page.status_code == 200
        headers = page.headers
        assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy
        assert headers["referrer-policy"] == "same-origin"
        csrf_cookie = _set_cookie(page, "csrftoken")
        assert "Secure" in csrf_cookie and "SameSite=Lax" in csrf_cookie
        # The TLS proxy is simulated: httpx speaks plain HTTP to daphne, so it would (rightly)
        # keep Secure cookies to itself. The browser behind TLS sends them: so do we, by hand.
        csrf_value = _cookie_value(csrf_cookie)
        cookies = {"Cookie": f"csrftoken={csrf_value}"}

        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
        signed_in = browser.post(
            "/login/",
            data={
                "username": world_a.owner.username,
                "password": "correct-horse-battery-9",
                "csrfmiddlewaretoken": token,
            },
            headers={"Referer": "https://annotator.example.com/login/", **cookies},
        )
        assert signed_in.status_code == 302, signed_in.text[:500]
        session_cookie = _set_cookie(signed_in, "sessionid")
        assert all(flag in session_cookie for flag in ("Secure", "HttpOnly", "SameSite=Lax"))
        csrf_value = _cookie_value(_set_cookie(signed_in, "csrftoken"))  # rotated at sign-in
        cookies = {"Cookie": f"csrftoken={csrf_value}; sessionid={_cookie_value(session_cookie)}"}

        api = browser.get("/api/v1/me", headers=cookies)
        assert api.status_code == 200 and api.headers["x-content-type-options"] == "nosniff"
        assert "strict-transport-security" in api.headers
        write = {"name": "csrf", "kind": "image"}
        refused = browser.post("/api/v1/projects", json=write, headers=cookies)
        assert refused.status_code == 403 and "CSRF" in refused.json()["message"]
        allowed = browser.post(
            "/api/v1/projects",
            json=write,
            headers={"X-CSRFToken": csrf_value, "Referer": "https://annotator.example.com/", **cookies},
        )
        assert allowed.status_code == 201, allowed.text


def _cookie_value(set_cookie: str) -> str:
    return set_cookie.split(";", 1)[0].split("=", 1)[1]


def _set_cookie(response, name: str) -> str:
    for value in response.headers.get_list("set-cookie"):
        if value.startswith(f"{name}="):
            return value
    raise AssertionError(f"no {name} cookie in {response.headers.get_list('set-cookie')}")


@pytest.mark.django_db
def test_every_portal_form_refuses_a_post_without_a_csrf_token(world_a):
    """Generated from the URL conf: every portal route that takes POST."""
    from tests.routes import object_values

    client = Client(enforce_csrf_checks=True)
    client.force_login(world_a.owner)
    checked, failures = 0, []
    for route in all_routes():
        if route.pattern.startswith(("api/", "admin/", "server/")) or "post" not in route.methods:
            continue
        values, problems = object_values(route.kwargs, route.view_class, world_a)
        assert not problems, (route.pattern, problems)
        url = route.url(values)
        response = client.post(url, {})
        checked += 1
        if response.status_code != 403 or b"CSRF" not in response.content:
            failures.append(f"POST {url}: {response.status_code}")
    assert checked > 25 and not failures, failures
