"""API key scopes: what each key may do, and which scope each API route needs.

Declarative and default-deny: `ROUTE_SCOPES` maps URL prefixes to the one scope a route under
them needs. `require_api_key` refuses (403) any route no prefix covers, and
tests/security/test_scopes.py fails for any registered route under /api/ or /fhir that no
prefix covers, so a new route is either covered by its prefix's scope or fails loudly.
"""

from __future__ import annotations

PLANS = "plans"
WEBHOOKS = "webhooks"
EMBED = "embed"
KEYS = "keys"

ALL = (PLANS, WEBHOOKS, EMBED, KEYS)
# What a key gets when its creator names none: everything a portal integration needs, but not
# key management, so a leaked portal key cannot mint itself a permanent twin or revoke the
# clinic's real key. Admins manage keys on the admin pages or with the CLI.
DEFAULT = (PLANS, WEBHOOKS, EMBED)

DESCRIPTIONS = {
    PLANS: "Templates and plans: create, read, revise, download handouts.",
    WEBHOOKS: "Webhook endpoints and their deliveries.",
    EMBED: "Start embedded plan-builder sessions for a portal.",
    KEYS: "List, create and revoke the clinic's API keys.",
}

# URL prefix (whole path segments) -> scope. Longest prefix wins.
ROUTE_SCOPES: dict[str, str] = {
    "/api/v1/templates": PLANS,
    "/api/v1/plans": PLANS,
    "/api/v1/webhook-endpoints": WEBHOOKS,
    "/api/v1/embed-sessions": EMBED,
    "/api/v1/api-keys": KEYS,
    # FHIR resources are plan data in another shape.
    "/fhir": PLANS,
}


def scope_for(path: str) -> str | None:
    """The scope a request path needs, or None if no prefix covers it (then: refuse)."""
    best = ""
    for prefix in ROUTE_SCOPES:
        if (path == prefix or path.startswith(prefix + "/")) and len(prefix) > len(best):
            best = prefix
    return ROUTE_SCOPES[best] if best else None


def parse(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Scopes as stored: a sorted, de-duplicated list of known names. Raises ValueError on an
    unknown one (callers turn that into a field error)."""
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value or [])
    unknown = [s for s in items if s not in ALL]
    if unknown:
        raise ValueError(f"Unknown scope {unknown[0]!r}; scopes are {', '.join(ALL)}.")
    return sorted(set(items), key=ALL.index)
