"""https deliveries are pinned to the checked IP yet keep the host name for SNI and the cert."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.webhooks.conftest import Receiver, attempt_all_due, deliveries_of, make_plan, register

HOST = "hooks.portal.test"


def self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture()
def https_receiver(tmp_path, monkeypatch):
    from service.webhooks import http

    monkeypatch.setattr(http, "resolve", lambda host, port: ["127.0.0.1"])
    started: list[Receiver] = []

    def make(cert_name: str) -> tuple[Receiver, Path]:
        cert, key = self_signed(tmp_path, cert_name)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        receiver = Receiver(tls=ctx).start()
        started.append(receiver)
        return receiver, cert

    yield make
    for r in started:
        r.stop()


def test_https_delivery_sends_the_host_name_as_sni_and_checks_the_certificate(
        app, client, clinics, https_receiver):
    receiver, cert = https_receiver(HOST)
    app.config["WEBHOOK_CA_BUNDLE"] = str(cert)
    register(client, clinics.a, f"https://{HOST}:{receiver.port}/hooks")
    make_plan(client, clinics.a)
    assert attempt_all_due(app) == ["succeeded"]
    assert receiver.sni == [HOST]
    assert receiver.received[0].headers["Host"] == f"{HOST}:{receiver.port}"


def test_a_certificate_for_another_name_fails_the_attempt(app, client, clinics, https_receiver):
    receiver, cert = https_receiver("other.portal.test")
    app.config["WEBHOOK_CA_BUNDLE"] = str(cert)
    endpoint = register(client, clinics.a, f"https://{HOST}:{receiver.port}/hooks")
    make_plan(client, clinics.a)
    assert attempt_all_due(app) == ["pending"]
    assert receiver.received == []
    [log] = deliveries_of(client, clinics.a, endpoint["id"])
    assert log["attempts"][0]["error"] == "TLSError"


def test_an_untrusted_certificate_fails_the_attempt(app, client, clinics, https_receiver):
    """Without our test CA, the public bundle is used, and a self-signed cert is refused."""
    receiver, _ = https_receiver(HOST)
    endpoint = register(client, clinics.a, f"https://{HOST}:{receiver.port}/hooks")
    make_plan(client, clinics.a)
    assert attempt_all_due(app) == ["pending"]
    assert receiver.received == []
    assert deliveries_of(client, clinics.a, endpoint["id"])[0]["attempts"][0]["error"] == (
        "TLSError")
