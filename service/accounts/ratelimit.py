"""Sign-in attempt limits, counted in the storage RATELIMIT_STORAGE_URI names (Redis in production).

Built on `limits`, the engine under Flask-Limiter, rather than its decorator: we count failed
attempts only (a clinician who mistypes once and then signs in is not penalised), and Flask-
Limiter keeps one storage per extension object, which several apps in one process would share.
"""

from __future__ import annotations

import math
import time

from flask import current_app
from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from service.audit import keyed_hash

# Per address and account: a person mistyping stays well inside; a guesser gets 5 a minute.
PER_ACCOUNT = parse("5/minute")
# Per address across accounts: stops spraying one password over many addresses.
PER_SOURCE = parse("30/minute")


def _limiter() -> MovingWindowRateLimiter:
    limiter = current_app.extensions.get("limber_signin_limiter")
    if limiter is None:
        storage: Storage = storage_from_string(current_app.config["RATELIMIT_STORAGE_URI"])
        limiter = MovingWindowRateLimiter(storage)
        current_app.extensions["limber_signin_limiter"] = limiter
    return limiter


def _keys(ip: str, email: str) -> list[tuple[RateLimitItem, str]]:
    account = keyed_hash(f"{ip}|{email.strip().lower()}", "signin-limit")
    return [(PER_ACCOUNT, f"signin:{account}"), (PER_SOURCE, f"signin-ip:{keyed_hash(ip, 'ip')}")]


def retry_after(ip: str, email: str) -> int:
    """Seconds until another attempt is allowed; 0 when one is allowed now."""
    limiter = _limiter()
    wait = 0
    for item, key in _keys(ip, email):
        if not limiter.test(item, key):
            reset = limiter.get_window_stats(item, key).reset_time
            wait = max(wait, max(1, math.ceil(reset - time.time())))
    return wait


def count_failure(ip: str, email: str) -> None:
    limiter = _limiter()
    for item, key in _keys(ip, email):
        limiter.hit(item, key)
