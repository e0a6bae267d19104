"""How programs and browsers prove who they are.

* ``Authorization: Token <token>`` (or ``Bearer``): personal API tokens.
* Key pairs, as Cytomine clients send them: ``Authorization: CYTOMINE <public>:<signature>``
  with a ``Date`` header (HMAC-SHA1, base64, over ``METHOD\\nContent-MD5\\nContent-Type\\nDate``
  — current clients — or the same followed by ``\\n<path>`` — older clients), or the simple
  ``X-Auth-Token: <public>`` / ``X-Auth-Secret: <private>`` pair.
* Session cookies (portal and browsable API), with CSRF enforced on writes.

Revoked, expired and unknown credentials get 401 with a message saying which.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.crypto import digest
from accounts.models import ApiToken, KeyPair

# Writing last_used_at on every request would turn reads into writes; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _check_usable(credential, kind: str) -> None:
    if credential.revoked_at is not None:
        raise exceptions.AuthenticationFailed(f"This {kind} was revoked; create a new one in your profile.")
    if credential.expires_at is not None and credential.expires_at <= timezone.now():
        raise exceptions.AuthenticationFailed(f"This {kind} expired on {credential.expires_at:%Y-%m-%d}.")
    if not credential.user.is_active:
        raise exceptions.AuthenticationFailed("The user of this credential is deactivated.")


def _touch(credential) -> None:
    now = timezone.now()
    if credential.last_used_at is None or now - credential.last_used_at > LAST_USED_RESOLUTION:
        type(credential).objects.filter(pk=credential.pk).update(last_used_at=now)
        credential.last_used_at = now


class TokenAuthentication(authentication.BaseAuthentication):
    keywords = ("token", "bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: use 'Token <token>'.")
        try:
            token = header[1].decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The token contains invalid characters.") from None
        # get(), not first(): no ORDER BY to compile on every request (the digest is unique).
        try:
            credential = ApiToken.objects.select_related("user", "organization").get(digest=digest(token))
        except ApiToken.DoesNotExist:
            raise exceptions.AuthenticationFailed("Unknown API token.") from None
        _check_usable(credential, "API token")
        _touch(credential)
        return credential.user, credential

    def authenticate_header(self, request) -> str:
        return 'Token realm="api"'


class KeyPairAuthentication(authentication.BaseAuthentication):
    """Cytomine-compatible key-pair authentication (signed requests and the X-Auth pair)."""

    def authenticate(self, request):
        auth = request.META.get("HTTP_AUTHORIZATION", "")
        if auth[:9].upper() == "CYTOMINE ":
            return self._signed(request, auth[9:].strip())
        public = request.META.get("HTTP_X_AUTH_TOKEN")
        if public is not None:
            return self._plain(public, request.META.get("HTTP_X_AUTH_SECRET"))
        return None

    def _pair(self, public_key: str) -> KeyPair:
        pair = KeyPair.objects.select_related("user", "organization").filter(public_key=public_key).first()
        if pair is None:
            raise exceptions.AuthenticationFailed("Unknown public key.")
        _check_usable(pair, "key pair")
        return pair

    def _plain(self, public: str, secret: str | None):
        if not secret:
            raise exceptions.AuthenticationFailed("X-Auth-Token needs its X-Auth-Secret header.")
        pair = self._pair(public)
        if not hmac.compare_digest(pair.private_key.encode(), secret.encode()):
            raise exceptions.AuthenticationFailed("Wrong private key for this public key.")
        _touch(pair)
        return pair.user, pair

    def _signed(self, request, value: str):
        public, sep, signature = value.partition(":")
        if not sep or not public or not signature:
            raise exceptions.AuthenticationFailed("Malformed signature: use 'CYTOMINE <public>:<signature>'.")
        date_header = request.META.get("HTTP_DATE") or request.META.get("HTTP_X_DATE")
        if not date_header:
            raise exceptions.AuthenticationFailed("Signed requests need a Date header.")
        try:
            sent = parsedate_to_datetime(date_header)
        except (TypeError, ValueError):
            raise exceptions.AuthenticationFailed("The Date header is not an RFC 1123 date.") from None
        if sent.tzinfo is None:
            sent = sent.replace(tzinfo=UTC)
        skew = abs((timezone.now() - sent).total_seconds())
        if skew > settings.SIGNED_REQUEST_MAX_SKEW_SECONDS:
            raise exceptions.AuthenticationFailed(
                f"The Date header is {int(skew)} s away from the server clock "
                f"(at most {settings.SIGNED_REQUEST_MAX_SKEW_SECONDS} s allowed)."
            )
        pair = self._pair(public)
        key = pair.private_key.encode("utf-8")
        content_md5 = request.META.get("HTTP_CONTENT_MD5", "")
        content_type = request.META.get("CONTENT_TYPE", "")
        full_path = request.get_full_path()
        candidates = []
        # Some servers/test clients report a default content type the client never signed.
        for ctype in dict.fromkeys([content_type, ""]):
            base = f"{request.method}\n{content_md5}\n{ctype}\n{date_header}"
            candidates += [base, f"{base}\n{request.path}", f"{base}\n{full_path}"]
        for message in candidates:
            expected = base64.b64encode(hmac.new(key, message.encode("utf-8"), hashlib.sha1).digest()).decode()
            if hmac.compare_digest(expected, signature):
                _touch(pair)
                return pair.user, pair
        raise exceptions.AuthenticationFailed("Bad request signature for this public key.")

    def authenticate_header(self, request) -> str:
        return "CYTOMINE"


class SessionAuthentication(authentication.SessionAuthentication):
    """Django sessions with CSRF enforced on unsafe methods (DRF's behaviour).

    The CSRF check runs on Django's request, not DRF's: DRF's would parse the body with the
    view's parsers first, so a session write to another organization's object (or one the
    role may not write) answered 415/400 about its body instead of 404/403, and a body was
    parsed before anyone was authorized. Django's own parsing reads only form bodies (where
    the ``csrfmiddlewaretoken`` field may be) and DRF reuses that result."""

    def enforce_csrf(self, request):
        super().enforce_csrf(getattr(request, "_request", request))
