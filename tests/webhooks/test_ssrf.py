"""SSRF: webhooks go to public addresses only, checked at registration and again at delivery."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from tests.webhooks.conftest import deliveries_of, make_plan, register

# Each is refused when private targets are not allowed (production).
PRIVATE_URLS = [
    "https://10.0.0.1/hooks",
    "https://127.0.0.1/hooks",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/hooks",
    "https://[::ffff:10.0.0.1]/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
    "https://[64:ff9b::a00:1]/hooks",  # NAT64 form of 10.0.0.1
    "https://[2002:a00:1::1]/hooks",  # 6to4 form of 10.0.0.1
    "https://0.0.0.0/hooks",
    "https://[::]/hooks",
    "https://192.168.1.20/hooks",
    "https://172.16.5.4/hooks",
    "https://100.64.0.1/hooks",  # carrier-grade NAT
    "https://[fd00::1]/hooks",
    "https://[fe80::1]/hooks",
    "https://224.0.0.1/hooks",
    "https://localhost/hooks",  # resolves (from /etc/hosts) to loopback
]
# Refused even in development, where loopback and private networks are allowed.
ALWAYS_REFUSED = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/hooks",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://0.0.0.0:8080/hooks",
    "http://224.0.0.1/hooks",
]


@pytest.fixture()
def resolver(monkeypatch):
    """Answers for host names, so no test ever asks real DNS; the client's one seam."""
    from service.webhooks import http

    answers: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> list[str]:
        if host == "localhost":
            return [str(info[4][0]) for info in socket.getaddrinfo(host, port)]
        if host not in answers:
            raise socket.gaierror(f"test resolver has no answer for {host}")
        return answers[host]

    monkeypatch.setattr(http, "resolve", resolve)
    return answers


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_private_loopback_and_special_addresses_are_refused(url, resolver):
    from service.webhooks import http

    with pytest.raises(http.AddressNotAllowed):
        http.check_url(url, allow_private=False)


@pytest.mark.parametrize("url", ALWAYS_REFUSED)
def test_link_local_metadata_multicast_and_unspecified_are_refused_even_in_development(url):
    from service.webhooks import http

    with pytest.raises(http.AddressNotAllowed):
        http.check_url(url, allow_private=True)


def test_public_addresses_and_names_are_allowed(resolver):
    from service.webhooks import http

    resolver["portal.example.com"] = ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]
    assert http.check_url("https://portal.example.com/hooks", False)[2][0] == "93.184.216.34"
    assert http.check_url("https://93.184.216.34:8443/hooks", False)[1] == 8443
    assert http.check_url("https://[::ffff:93.184.216.34]/hooks", False)


def test_a_name_with_any_private_address_is_refused(resolver):
    """DNS may answer with either address on the next lookup, so one bad one refuses the host."""
    from service.webhooks import http

    resolver["mixed.example.com"] = ["93.184.216.34", "10.0.0.1"]
    with pytest.raises(http.AddressNotAllowed, match="not allowed") as refused:
        http.check_url("https://mixed.example.com/hooks", False)
    # Which address was bad is not said (tests/security/test_enumeration.py).
    assert "10.0.0.1" not in str(refused.value)


def test_registration_refuses_private_targets_with_a_problem_naming_url(
        app, client, clinics, resolver):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    resolver["internal.portal.example"] = ["10.1.2.3"]
    for url in [*PRIVATE_URLS, "https://internal.portal.example/hooks",
                "https://does-not-resolve.example/hooks", "https://user:pw@93.184.216.34/x"]:
        resp = client.post("/api/v1/webhook-endpoints", headers=clinics.a, json={"url": url})
        assert resp.status_code == 422, url
        problem = resp.get_json()
        assert resp.mimetype == "application/problem+json"
        assert [e["field"] for e in problem["errors"]] == ["url"], url
    assert client.get("/api/v1/webhook-endpoints", headers=clinics.a).get_json()["items"] == []


def test_development_allows_loopback_but_never_the_metadata_address(app, client, clinics):
    assert app.config["WEBHOOK_ALLOW_PRIVATE"] is True
    ok = client.post("/api/v1/webhook-endpoints", headers=clinics.a,
                     json={"url": "http://127.0.0.1:8080/hooks"})
    assert ok.status_code == 201
    for url in ALWAYS_REFUSED:
        resp = client.post("/api/v1/webhook-endpoints", headers=clinics.a, json={"url": url})
        assert resp.status_code == 422 and resp.get_json()["errors"][0]["field"] == "url", url


def _point_endpoint_at(app, url: str) -> None:
    """What a stored endpoint looks like if the rules or DNS changed after registration."""
    from service.extensions import db
    from service.webhooks.models import WebhookEndpoint

    with app.app_context():
        db.session.scalars(db.select(WebhookEndpoint)).one().url = url
        db.session.commit()


def test_delivery_refuses_private_targets_without_connecting(
        app, client, clinics, receivers, resolver, no_outside_connections):
    """A stored URL that is no longer allowed fails at delivery time; nothing is connected to."""
    from tests.webhooks.conftest import attempt_all_due

    listening = receivers()  # a real server on loopback, to prove loopback was not contacted
    endpoint = register(client, clinics.a, listening.url)
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    app.config["WEBHOOK_RETRY_SCHEDULE"] = [0] * 40
    resolver["internal.portal.example"] = ["10.1.2.3"]
    urls = [*PRIVATE_URLS, f"https://127.0.0.1:{listening.port}/hooks",
            f"http://127.0.0.1:{listening.port}/hooks", "https://internal.portal.example/x"]
    make_plan(client, clinics.a)
    for url in urls:
        _point_endpoint_at(app, url)
        assert attempt_all_due(app) == ["pending"], url

    [log] = deliveries_of(client, clinics.a, endpoint["id"])
    assert len(log["attempts"]) == len(urls)
    for attempt, url in zip(log["attempts"], urls, strict=True):
        assert attempt["status_code"] is None, url
        assert attempt["error"].startswith("AddressNotAllowed"), (url, attempt["error"])
    assert listening.received == []
    assert no_outside_connections == []


def test_dns_rebinding_after_registration_is_refused_at_delivery(
        app, client, clinics, resolver, no_outside_connections):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    resolver["portal.example.com"] = ["93.184.216.34"]
    endpoint = register(client, clinics.a, "https://portal.example.com/hooks")
    resolver["portal.example.com"] = ["169.254.169.254"]
    make_plan(client, clinics.a)
    from tests.webhooks.conftest import attempt_all_due

    assert attempt_all_due(app) == ["pending"]
    [log] = deliveries_of(client, clinics.a, endpoint["id"])
    error = log["attempts"][0]["error"]
    assert "not allowed" in error and "169.254.169.254" not in error  # no inside address told
    assert no_outside_connections == []


def test_the_connection_goes_to_the_checked_address_with_the_original_host_header(
        app, client, clinics, receivers, resolver, monkeypatch):
    """Resolved once, by the check; the socket connects to that IP and never looks the name
    up again, so a second DNS answer cannot redirect it."""
    receiver = receivers()
    resolver["hooks.portal.test"] = ["127.0.0.1"]
    real_getaddrinfo = socket.getaddrinfo

    def numeric_only(host, *args, **kwargs):
        try:
            ipaddress.ip_address(host)
        except ValueError as exc:
            raise AssertionError(f"the client looked up {host!r} a second time") from exc
        return real_getaddrinfo(host, *args, **kwargs)

    register(client, clinics.a, f"http://hooks.portal.test:{receiver.port}/hooks/limber")
    monkeypatch.setattr(socket, "getaddrinfo", numeric_only)
    make_plan(client, clinics.a)
    from tests.webhooks.conftest import attempt_all_due

    assert attempt_all_due(app) == ["succeeded"]
    [req] = receiver.received
    assert req.headers["Host"] == f"hooks.portal.test:{receiver.port}"
    assert req.path == "/hooks/limber"
