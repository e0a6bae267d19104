"""The Cytomine client session: a signed request opens it, plain follow-up reads use it.

Cytomine answers a successful signed request with a session cookie, and scripts rely on it:
``cyto._session.get(window_url)`` sends no signature, only the cookie the ``requests``
session kept. We do the same, narrowly:

* Only a request authenticated by a **key pair** (signed ``CYTOMINE`` header or the
  ``X-Auth-Token``/``X-Auth-Secret`` pair) on a compat route opens or refreshes it. The
  session stores the key pair's id, nothing else: it is *not* a portal login, so the cookie
  opens no portal page and no ``/api/v1`` route.
* It authenticates **safe methods only** (GET/HEAD/OPTIONS) on compat routes, as that key
  pair: same user, same organization, same role, same rate-limit budget. Writes must be
  signed (the client always signs them), so the cookie cannot be used for cross-site writes.
* The key pair is checked on every use: revoked, expired or deactivated ends the session
  (401). A different key pair on the same cookie gets a fresh session key (no fixation).
* The cookie is Django's session cookie (HttpOnly, SameSite=Lax, Secure with SECURE_TLS);
  the session lasts ``CYTOMINE_SESSION_SECONDS`` (default 8 hours) after the last signed
  request.

Residual risk of the signature itself (``accounts.authentication`` checks it): current
clients sign method, content type and date but no path and no body, so a captured
``Authorization``/``Date`` pair is valid for any request of that method and content type
until ``SIGNED_REQUEST_MAX_SKEW_SECONDS`` (default 300) runs out. It cannot be made
single-use: the client sends identical signatures for different requests within one second.
TLS, a small skew and short-lived keys bound it; docs/compat.md says so to users.
"""

from __future__ import annotations

import time

from django.conf import settings
from rest_framework import authentication, exceptions

from accounts.authentication import KeyPairAuthentication
from accounts.models import KeyPair

SESSION_KEY = "cytomine_key_pair"
SESSION_SEEN = "cytomine_seen"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# Refresh the session's expiry at most once a minute (it is a database write).
REFRESH_SECONDS = 60


def session_seconds() -> int:
    return int(getattr(settings, "CYTOMINE_SESSION_SECONDS", 8 * 3600))


def _django_session(request):
    return getattr(getattr(request, "_request", request), "session", None)


class CytomineSessionAuthentication(authentication.BaseAuthentication):
    """A plain (unsigned) safe request carrying the cookie a signed request opened."""

    def authenticate(self, request):
        session = _django_session(request)
        if session is None or request.method not in SAFE_METHODS:
            return None
        pair_id = session.get(SESSION_KEY)
        if pair_id is None:
            return None
        pair = (
            KeyPair.objects.usable()
            .select_related("user", "organization")
            .filter(pk=pair_id, user__is_active=True)
            .first()
        )
        if pair is None:
            session.pop(SESSION_KEY, None)
            raise exceptions.AuthenticationFailed(
                "The key pair that opened this session was revoked or expired; sign your requests with a valid key."
            )
        return pair.user, pair

    def authenticate_header(self, request) -> str:
        return "CYTOMINE"


def remember_key_pair(request) -> None:
    """After a key-pair-authenticated request: open (or refresh) the Cytomine client session."""
    if not isinstance(getattr(request, "_authenticator", None), KeyPairAuthentication):
        return
    pair = request.auth
    session = _django_session(request)
    if session is None or not isinstance(pair, KeyPair):
        return
    if session.get("_auth_user_id") is not None:
        return  # a portal login rides on this cookie: leave it exactly as it is
    now = int(time.time())
    if session.get(SESSION_KEY) != pair.pk:
        if session.get(SESSION_KEY) is not None:
            session.flush()  # another key's session: never inherit it
        else:
            session.cycle_key()
        session[SESSION_KEY] = pair.pk
    elif now - int(session.get(SESSION_SEEN, 0)) < REFRESH_SECONDS:
        return
    session[SESSION_SEEN] = now
    session.set_expiry(session_seconds())
