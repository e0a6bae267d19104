"""Secrets at rest: API tokens are hashed, API private keys are encrypted.

Tokens are only ever compared, so a SHA-256 digest of a 256-bit random token suffices (as
GitHub and others do). Private keys must be recovered to verify HMAC signatures, so they are
encrypted with Fernet under ``CREDENTIALS_ENCRYPTION_KEY`` (or a key derived from
``SECRET_KEY`` when that is unset).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet
from django.conf import settings


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@lru_cache(maxsize=4)
def _fernet(key_material: str) -> Fernet:
    try:
        return Fernet(key_material.encode())
    except ValueError:
        derived = hashlib.sha256(b"annotator-credentials:" + key_material.encode()).digest()
        return Fernet(base64.urlsafe_b64encode(derived))


def _cipher() -> Fernet:
    return _fernet(settings.CREDENTIALS_ENCRYPTION_KEY or settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return _cipher().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(ciphertext: str) -> str:
    return _cipher().decrypt(ciphertext.encode("ascii")).decode("utf-8")
