"""A real HTTP receiver on 127.0.0.1, helpers for endpoints and plans, a socket guard."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import ClinicKeys

CANARY_NAME = "Zorbalina Quest"
CANARY_NOTE = "Quexotic knee story"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A threaded http.server that records every POST and answers from a script."""

    port: int = 0
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    default: tuple[int, dict[str, str]] = (204, {})
    received: list[Received] = field(default_factory=list)
    # Serve https with this context; the SNI names clients sent are kept in `sni`.
    tls: ssl.SSLContext | None = None
    sni: list[str | None] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/limber"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                status, headers = (receiver.answers.pop(0) if receiver.answers
                                   else receiver.default)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        if self.tls is not None:
            self.tls.sni_callback = lambda sock, name, ctx: self.sni.append(name)
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture()
def receivers() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def make(**kwargs: Any) -> Receiver:
        r = Receiver(**kwargs).start()
        started.append(r)
        return r

    yield make
    for r in started:
        r.stop()


@pytest.fixture()
def no_outside_connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Records every Python socket connect; any address but loopback is refused and recorded,
    so a test can prove a refused delivery never reached the network."""
    outside: list[Any] = []
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "::1", "localhost") and not str(host).startswith("/"):
            outside.append(address)
            raise OSError("test guard: refused a connection outside loopback")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    return outside


def register(client: FlaskClient, headers: dict[str, str], url: str,
             **fields: Any) -> dict[str, Any]:
    resp = client.post("/api/v1/webhook-endpoints", headers=headers, json={"url": url, **fields})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def make_plan(client: FlaskClient, headers: dict[str, str],
              reference: str | None = "MRN-20931") -> dict[str, Any]:
    resp = client.post("/api/v1/plans", headers=headers, json={
        "template_id": "core_routine", "notes": CANARY_NOTE,
        "patient": {"display_name": CANARY_NAME, "reference": reference}})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def attempt_all_due(app: Flask) -> list[str | None]:
    """Run one attempt of every delivery that is due, as a worker would."""
    from sqlalchemy import select

    from service.extensions import db
    from service.models import utcnow
    from service.webhooks import delivery
    from service.webhooks.models import WebhookDelivery

    with app.app_context():
        due = db.session.scalars(select(WebhookDelivery.id).where(
            WebhookDelivery.state == WebhookDelivery.PENDING,
            WebhookDelivery.next_attempt_at <= utcnow()).order_by(WebhookDelivery.id)).all()
        return [delivery.attempt(d) for d in due]


def deliveries_of(client: FlaskClient, headers: dict[str, str],
                  endpoint_id: str) -> list[dict[str, Any]]:
    resp = client.get(f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["items"]


__all__ = ["CANARY_NAME", "CANARY_NOTE", "ClinicKeys", "Receiver", "attempt_all_due",
           "deliveries_of", "make_plan", "register"]


# The real Celery worker and private Redis fixtures, for the end-to-end tests here.
from tests.integration.conftest import private_redis, start_worker  # noqa: E402,F401
