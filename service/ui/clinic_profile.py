"""Validating the clinic profile form: contact, emergency number, out-of-hours help, logo, embed
origins."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from werkzeug.datastructures import FileStorage

from plans.guide import has_phone
from plans.printable import text_problem

MAX_LOGO_BYTES = 256 * 1024
MAX_LOGO_SIDE = 2000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EMERGENCY = re.compile(r"^[0-9][0-9 ()+-]{1,19}$")
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
LOCAL_HOSTS = ("localhost", "127.0.0.1")
# FHIR Identifier.system is a URI: an http(s) URL or a URN (e.g. urn:oid:1.2.36.146.595.217.0.1).
IDENTIFIER_SYSTEM = re.compile(r"^(https?://[^\s/?#]+[^\s]*|urn:[a-z0-9][a-z0-9-]{0,31}:\S+)$",
                               re.IGNORECASE)


@dataclass
class ProfileChanges:
    values: dict[str, object] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the IHDR chunk, or None if this is not a PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def check_logo(upload: FileStorage) -> tuple[bytes | None, str]:
    """(PNG bytes, "") or (None, why it is refused). Reads at most one byte past the cap."""
    data = upload.stream.read(MAX_LOGO_BYTES + 1)
    if len(data) > MAX_LOGO_BYTES:
        return None, f"The logo must be at most {MAX_LOGO_BYTES // 1024} KB."
    size = png_size(data)
    if size is None:
        return None, "The logo must be a PNG image."
    if not (1 <= size[0] <= MAX_LOGO_SIDE and 1 <= size[1] <= MAX_LOGO_SIDE):
        return None, f"The logo can be at most {MAX_LOGO_SIDE} pixels wide and high."
    return data, ""


def parse_origin(text: str) -> str | None:
    """'https://portal.clinic.example[:port]', lower-cased, or None if it is not an origin.
    http is allowed only for localhost, for portal developers."""
    parts = urlsplit(text.strip())
    try:
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username \
            or not host or not _HOST.match(host) and host != "127.0.0.1":
        return None
    if parts.scheme == "https" or (parts.scheme == "http" and host in LOCAL_HOSTS):
        return f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    return None


PRINTED_FIELDS = ("name", "contact", "emergency_number", "out_of_hours")


def printable_errors(values: dict[str, str]) -> dict[str, str]:
    """Every handout of the clinic prints these fields: text it cannot print is refused here
    (and shown on the page when a value stored earlier has it), or it would break every later
    handout of the clinic."""
    errors = {}
    for key in PRINTED_FIELDS:
        found = text_problem(key, values.get(key) or "")
        if found is not None:
            errors[key] = found.message
    return errors


def parse_profile(form: dict[str, str], logo: FileStorage | None) -> ProfileChanges:
    out = ProfileChanges()
    name = form.get("name", "").strip()
    if not 1 <= len(name) <= 200:
        out.errors["name"] = "Enter the clinic's name (up to 200 characters)."
    contact = form.get("contact", "").strip()
    if len(contact) > 300:
        out.errors["contact"] = "Keep the contact details under 300 characters."
    elif not has_phone(contact):
        out.errors["contact"] = (
            "Add the clinic's phone number: handouts tell patients to call the clinic the "
            "same day for some signs.")
    out_of_hours = " ".join(form.get("out_of_hours", "").split())
    if not out_of_hours:
        out.errors["out_of_hours"] = (
            "Say where patients get help when the clinic is closed, for example an "
            "out-of-hours number, urgent care or NHS 111. Handouts print it.")
    elif len(out_of_hours) > 300:
        out.errors["out_of_hours"] = "Keep the out-of-hours help under 300 characters."
    emergency = form.get("emergency_number", "").strip()
    if not EMERGENCY.match(emergency):
        out.errors["emergency_number"] = (
            "Enter the emergency number patients should call, for example 911, 999 or 112.")
    for key, message in printable_errors({"name": name, "contact": contact,
                                          "emergency_number": emergency,
                                          "out_of_hours": out_of_hours}).items():
        out.errors[key] = message  # it names the exact characters: fix those first
    origins: list[str] = []
    for line in form.get("allowed_embed_origins", "").splitlines():
        if not line.strip():
            continue
        origin = parse_origin(line)
        if origin is None:
            out.errors["allowed_embed_origins"] = (
                f"'{line.strip()[:80]}' is not an origin. Write one per line, like "
                "https://portal.clinic.example (https, no path).")
            break
        if origin not in origins:
            origins.append(origin)
    if len(origins) > 20:
        out.errors["allowed_embed_origins"] = "List at most 20 origins."
    system = form.get("fhir_patient_system", "").strip()
    if system and (len(system) > 300 or not IDENTIFIER_SYSTEM.match(system)):
        out.errors["fhir_patient_system"] = (
            "Enter the URI your records system names patient references by, like "
            "https://portal.clinic.example/mrn or urn:oid:1.2.3.4 (up to 300 characters), or "
            "leave it empty.")
    out.values = {"name": name, "contact": contact, "emergency_number": emergency,
                  "out_of_hours": out_of_hours,
                  "allowed_embed_origins": origins, "fhir_patient_system": system,
                  "fhir_in_webhooks": bool(form.get("fhir_in_webhooks"))}
    if form.get("remove_logo"):
        out.values["logo_png"] = None
    elif logo is not None and logo.filename:
        data, problem = check_logo(logo)
        if problem:
            out.errors["logo"] = problem
        else:
            out.values["logo_png"] = data
    return out
