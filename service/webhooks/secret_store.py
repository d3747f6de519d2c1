"""Endpoint signing secrets: generated per Standard Webhooks, kept encrypted with SECRET_KEY."""

from __future__ import annotations

import base64
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format prefix, not a secret


class SecretUnreadable(Exception):
    """The stored secret was encrypted under another SECRET_KEY."""


def new_secret() -> str:
    """`whsec_` + base64 of 32 random bytes: the format the standardwebhooks libraries read."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _fernet() -> Fernet:
    # A key of its own, derived from SECRET_KEY, so the session-signing key is never used raw.
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"limber webhook endpoint secrets v1").derive(
        current_app.config["SECRET_KEY"].encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(ciphertext: str) -> str:
    """Raises SecretUnreadable when SECRET_KEY changed since the secret was stored."""
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("stored webhook secret cannot be decrypted with SECRET_KEY") from exc
