"""Sign-in throttling, written as the attacks the penetration test used: rotating
X-Forwarded-For at one account, a /64's worth of IPv6 addresses, parallel guesses, and an
attacker trying to lock a clinician out."""

from __future__ import annotations

import threading
import uuid

import pytest

from service.accounts import ratelimit
from tests.accounts.conftest import add_clinician, csrf_from, sign_in
from tests.conftest import need, redis_available


def client_at(app, ip: str, proxied: bool = False):
    client = app.test_client()
    if proxied:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = ip
    else:
        client.environ_base["REMOTE_ADDR"] = ip
    return client


def test_rotating_x_forwarded_for_gets_five_guesses_at_an_account_not_forty(app, people):
    from service import create_app

    proxied = create_app({**app.config, "PROXY_HOPS": 1})
    answers = [sign_in(client_at(proxied, f"198.51.100.{n}", proxied=True), "pt@a.example",
                       "not the password").status_code for n in range(8)]
    assert answers == [401] * 5 + [429] * 3


def test_ipv6_addresses_in_one_slash_64_share_one_network_count(app, people):
    """30 attempts a minute per network: an attacker with a /64 (every home line has one)
    gets 30, not 30 per address, even spread over many accounts."""
    assert ratelimit.network_of("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert ratelimit.network_of("::ffff:203.0.113.9") == "203.0.113.9"
    statuses = []
    for n in range(31):
        client = client_at(app, f"2001:db8:1:2::{n + 1:x}")
        statuses.append(sign_in(client, f"nobody{n}@a.example", "not the password").status_code)
    assert statuses[:30] == [401] * 30 and statuses[30] == 429
    # The next /64 is someone else.
    assert sign_in(client_at(app, "2001:db8:1:3::1"), "pt@a.example",
                   "not the password").status_code == 401


def test_the_account_limit_does_not_lock_out_the_clinicians_own_browser(app, people):
    """Guessing holds the account for strangers, not for a browser that signed in before."""
    own = client_at(app, "192.0.2.10")
    assert sign_in(own, "pt@a.example").status_code == 303
    own.post("/sign-out", data={"csrf_token": csrf_from(own, "/plans")})
    for n in range(6):
        sign_in(client_at(app, f"203.0.113.{n}"), "pt@a.example", "guess guess guess")
    assert sign_in(client_at(app, "203.0.113.99"), "pt@a.example").status_code == 429
    assert sign_in(own, "pt@a.example").status_code == 303
    # A device cookie made for one account is worth nothing at another.
    stranger = client_at(app, "203.0.113.100")
    with app.test_request_context():
        name = ratelimit.device_cookie_name()
    stranger.set_cookie(name, own.get_cookie(name).value)
    for _ in range(5):
        sign_in(stranger, "admin@a.example", "guess guess guess")
    assert sign_in(stranger, "admin@a.example").status_code == 429


@pytest.mark.services
def test_25_parallel_guesses_through_redis_let_only_5_reach_the_password_check(app, people):
    """Counted before checking, atomically in Redis (as production runs): parallel guesses
    cannot all slip in between a check and a count."""
    need(redis_available(), "Redis on 127.0.0.1:6379")
    from service import create_app

    email = f"{uuid.uuid4().hex[:12]}@a.example"
    add_clinician(app, people.clinic_a, email)
    shared = {**app.config, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/13"}
    workers = [create_app(shared) for _ in range(3)]  # three gunicorn workers
    clients = []
    for n in range(25):
        client = client_at(workers[n % 3], f"198.51.100.{n}")
        clients.append((client, csrf_from(client, "/sign-in")))
    statuses: list[int] = []
    start = threading.Barrier(25)

    def guess(client, token) -> None:  # noqa: ANN001
        start.wait()
        statuses.append(client.post("/sign-in", data={
            "email": email, "password": "not the password", "csrf_token": token}).status_code)

    threads = [threading.Thread(target=guess, args=pair) for pair in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == [401] * 5 + [429] * 20


def test_a_clinician_signing_in_often_from_new_browsers_is_never_held(app, people):
    """Successful sign-ins start the account's count again (a shared front-desk computer)."""
    for n in range(8):
        assert sign_in(client_at(app, f"192.0.2.{n + 20}"), "pt@a.example").status_code == 303
