"""Outbound HTTP for webhooks that cannot be steered at our own network (SSRF-safe)."""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
# A receiver's answer is only logged as a status code; a little of the body is read so the
# connection ends cleanly, never megabytes.
MAX_RESPONSE_BYTES = 64 * 1024

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class DeliveryError(Exception):
    """The request did not produce an HTTP answer; `kind` is what the delivery log shows."""

    kind = "DeliveryError"


class AddressNotAllowed(DeliveryError):
    """The URL points (or resolves) somewhere webhooks may not go. Raised before connecting."""

    kind = "AddressNotAllowed"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    elapsed_ms: int


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to. The one seam tests may replace."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 translation form carries, which is where packets really go."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    # IPv4-compatible (::a.b.c.d), deprecated but still routed by some stacks.
    if int(ip) >> 32 == 0 and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip))
    return None


def refusal(ip: IPAddress, allow_private: bool) -> str | None:
    """Why webhooks may not go to `ip`, or None when they may."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            reason = refusal(inner, allow_private)
            return f"{reason} (inside {ip})" if reason else None
    if ip.is_unspecified:
        return f"{ip} is an unspecified address"
    if ip.is_multicast:
        return f"{ip} is a multicast address"
    if ip.is_link_local:
        # Always refused: cloud metadata services live here (169.254.169.254).
        return f"{ip} is a link-local address"
    if ip.is_loopback:
        return None if allow_private else f"{ip} is a loopback address"
    if ip.is_private or ip.is_reserved or not ip.is_global:
        return None if allow_private else f"{ip} is a private or reserved address"
    return None


def name_not_allowed(host: str) -> str:
    """One answer for a name that does not resolve and one that resolves inside: saying which,
    or to what address, would let anyone who can register webhooks map the inside network."""
    return (f"{host} is not allowed: webhooks go only to host names that resolve to public "
            "internet addresses")


def check_url(url: str, allow_private: bool) -> tuple[str, int, list[str]]:
    """Validate a webhook URL and resolve it; returns (host, port, allowed addresses).

    Raises AddressNotAllowed with a reason a clinic's integrator can act on.
    """
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise AddressNotAllowed("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise AddressNotAllowed("not a valid URL (check the host and port)") from exc
    if parts.scheme not in ("https", "http"):
        raise AddressNotAllowed("use an https:// URL")
    if parts.scheme == "http" and not allow_private:
        raise AddressNotAllowed("use https://; plain http is only for development")
    if parts.username or parts.password:
        raise AddressNotAllowed("credentials in the URL are not allowed; we sign every request")
    if not host:
        raise AddressNotAllowed("the URL has no host name")
    if port == 0:
        raise AddressNotAllowed("port 0 is not a port anything listens on")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise AddressNotAllowed(name_not_allowed(host)) from exc
        if not addresses:
            raise AddressNotAllowed(name_not_allowed(host))
    for address in addresses:
        # A scope id (fe80::1%eth0) is not part of the address being judged.
        reason = refusal(ipaddress.ip_address(address.split("%", 1)[0]), allow_private)
        if reason:
            # Any bad address refuses the host: DNS may hand out either one. Which address,
            # and what kind, is not said for a name: the answer would map the inside network
            # for whoever can register webhooks (a literal address is the caller's own).
            raise AddressNotAllowed(name_not_allowed(host) if literal is None else reason)
    return host, port, addresses


def post(url: str, body: bytes, headers: dict[str, str], *, allow_private: bool,
         connect_timeout: float = CONNECT_TIMEOUT, read_timeout: float = READ_TIMEOUT,
         ca_bundle: str | None = None) -> Answer:
    """POST once to the address checked here, never following redirects.

    The connection goes to the resolved IP itself (no second lookup that DNS rebinding could
    answer differently), with the URL's host name in the Host header and in TLS SNI and
    certificate checks. Raises AddressNotAllowed before connecting, or DeliveryError.
    """
    host, port, addresses = check_url(url, allow_private)
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
    pool: urllib3.HTTPConnectionPool
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            addresses[0], port, timeout=timeout, retries=False, maxsize=1,
            server_hostname=host, assert_hostname=host, cert_reqs="CERT_REQUIRED",
            ca_certs=ca_bundle or certifi.where())
    else:
        pool = urllib3.HTTPConnectionPool(addresses[0], port, timeout=timeout, retries=False,
                                          maxsize=1)
    default_port = 443 if parts.scheme == "https" else 80
    host_header = host if ":" not in host else f"[{host}]"
    if port != default_port:
        host_header += f":{port}"
    started = time.monotonic()
    try:
        response = pool.urlopen("POST", target, body=body,
                                headers={**headers, "Host": host_header},
                                redirect=False, retries=False, preload_content=False)
        try:
            _drain(response, started + read_timeout)
        finally:
            response.release_conn()
            response.close()
    except NewConnectionError as exc:  # before ConnectTimeoutError, its base class
        raise _error("ConnectionError", exc) from exc
    except ConnectTimeoutError as exc:
        raise _error("ConnectTimeout", exc) from exc
    except ReadTimeoutError as exc:
        raise _error("ReadTimeout", exc) from exc
    except SSLError as exc:
        raise _error("TLSError", exc) from exc
    except (ProtocolError, urllib3.exceptions.HTTPError, OSError) as exc:
        raise _error(type(exc).__name__, exc) from exc
    finally:
        pool.close()
    elapsed = int((time.monotonic() - started) * 1000)
    return Answer(response.status, {k.lower(): v for k, v in response.headers.items()}, elapsed)


def _drain(response: urllib3.BaseHTTPResponse, deadline: float) -> None:
    """Read a little of the answer so it ends cleanly; never more than MAX_RESPONSE_BYTES and
    never past the deadline, so a receiver dripping bytes cannot hold a worker."""
    read = 0
    while read < MAX_RESPONSE_BYTES and time.monotonic() < deadline:
        chunk = response.read(8192)
        if not chunk:
            return
        read += len(chunk)


def _error(kind: str, exc: BaseException) -> DeliveryError:
    err = DeliveryError(kind)
    err.kind = kind
    return err
