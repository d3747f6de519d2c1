"""Sign-in attempt limits, counted in the storage RATELIMIT_STORAGE_URI names (Redis in production).

Built on `limits`, the engine under Flask-Limiter, rather than its decorator: the keys are the
account and the client network (not the route), the account limit is waived for a browser
that has signed in to that account before, and Flask-Limiter keeps one storage per extension
object, which several apps in one process would share.

Every attempt is counted *before* the password is checked, with the storage's atomic
check-and-add (a Lua script on Redis), so parallel guesses cannot all slip in between a check
and a count.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
import time

from flask import Flask, Response, current_app, request
from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from service.audit import keyed_hash

# Per account (the email typed, whatever address it comes from), in growing steps: 5 in a
# minute, then 10 in 15 minutes, 20 in an hour, 50 in a day. A botnet spreading guesses over
# many addresses gets at most 50 a day at one account. Not a lockout: each step ends by
# itself, and the clinician's own browser (device cookie below) is not held by it.
PER_ACCOUNT = [parse("5/minute"), parse("10/15 minutes"), parse("20/hour"), parse("50/day")]
# Per client network (an IPv4 address, an IPv6 /64: one household or host gets a whole /64),
# across accounts: stops spraying one password over many addresses from one place.
PER_NETWORK = [parse("30/minute"), parse("200/day")]
# A browser that signed in to this account before: its own allowance, so an attacker guessing
# at the account cannot keep the clinician out, and a stolen laptop still gets few guesses.
PER_DEVICE = [parse("10/minute"), parse("50/day")]

DEVICE_COOKIE_DAYS = 180


def init_app(app: Flask) -> None:
    """Build the storage with the app, not on the first sign-in: `limits` checks its optional
    dependencies on first use, and two threads doing that at once can fail."""
    uri = app.config["RATELIMIT_STORAGE_URI"]
    options = {}
    if uri.startswith(("redis://", "rediss://")):
        options["key_prefix"] = app.config.get("RATELIMIT_KEY_PREFIX", "limber")
    storage: Storage = storage_from_string(uri, **options)
    app.extensions["limber_signin_limiter"] = MovingWindowRateLimiter(storage)


def _limiter() -> MovingWindowRateLimiter:
    return current_app.extensions["limber_signin_limiter"]


def network_of(ip: str) -> str:
    """The unit a client controls: its IPv4 address, or its IPv6 /64 (ISPs hand out /64s, so
    counting single IPv6 addresses would give one attacker 2^64 fresh counters)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _account(email: str) -> str:
    return keyed_hash(email.strip().lower(), "signin-account")


# --- device cookie (OWASP "device cookies" against account lockout) ------------------------


def device_cookie_name() -> str:
    from service.accounts.sessions import _secure

    return "__Host-limber_device" if _secure() else "limber_device"


def _device_mac(nonce: str, email: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    message = f"device:{nonce}:{email.strip().lower()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def known_device(email: str) -> str | None:
    """The device nonce if this browser signed in to `email` before, else None."""
    value = request.cookies.get(device_cookie_name(), "")
    nonce, _, mac = value.partition(".")
    if nonce and mac and hmac.compare_digest(mac, _device_mac(nonce, email)):
        return nonce
    return None


def remember_device(response: Response, email: str) -> None:
    from service.accounts.sessions import _secure

    nonce = known_device(email) or secrets.token_urlsafe(16)
    response.set_cookie(device_cookie_name(), f"{nonce}.{_device_mac(nonce, email)}",
                        max_age=DEVICE_COOKIE_DAYS * 86400, path="/", secure=_secure(),
                        httponly=True, samesite="Lax")


# --- the check ------------------------------------------------------------------------------


def _keys(ip: str, email: str) -> list[tuple[RateLimitItem, str]]:
    device = known_device(email)
    if device is not None:
        who = [(item, f"signin-device:{keyed_hash(device, 'device')}") for item in PER_DEVICE]
    else:
        who = [(item, f"signin-account:{_account(email)}") for item in PER_ACCOUNT]
    network = keyed_hash(network_of(ip), "signin-net")
    return who + [(item, f"signin-net:{network}") for item in PER_NETWORK]


def succeeded(email: str) -> None:
    """The right password was given: the account's (or this browser's) count starts again, so
    a clinician who signs in often (a shared front-desk computer, several tabs) is never held
    by her own sign-ins. Whoever knows the password is in anyway, so this gives a guesser
    nothing. The network count is not cleared: one real account must not buy a network
    fresh guesses at others."""
    limiter = _limiter()
    device = known_device(email)
    if device is not None:
        pairs = [(item, f"signin-device:{keyed_hash(device, 'device')}") for item in PER_DEVICE]
    else:
        pairs = [(item, f"signin-account:{_account(email)}") for item in PER_ACCOUNT]
    for item, key in pairs:
        limiter.clear(item, key)


def attempt(ip: str, email: str) -> int:
    """Count one sign-in attempt before its password is checked. Returns 0 if it may go on,
    else the seconds to wait (the attempt was refused and not counted)."""
    limiter = _limiter()
    for item, key in _keys(ip, email):
        if not limiter.hit(item, key):
            reset = limiter.get_window_stats(item, key).reset_time
            return max(1, math.ceil(reset - time.time()))
    return 0
