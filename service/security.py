"""Security headers on every response: CSP, nosniff, referrer policy, no-store, HSTS."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, current_app, g, request

BASE_CSP = {
    "default-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "img-src": "'self' data:",
    "frame-ancestors": "'none'",
}
# Redoc injects its styles at runtime and parses the spec in a blob: worker.
DOCS_CSP = {"style-src": "'self' 'unsafe-inline'", "worker-src": "'self' blob:",
            "font-src": "'self' data:"}
HSTS = "max-age=63072000; includeSubDomains"


def set_frame_ancestors(origins: Iterable[str]) -> None:
    """Let this response be framed by these origins (an embed route sets its clinic's list)."""
    g.csp_frame_ancestors = " ".join(origins) or "'none'"


def relax_csp(**directives: str) -> None:
    """Replace directives for this response only, e.g. relax_csp(style_src="'self' 'unsafe-inline'")
    for the handout HTML, whose styles the renderer writes inline."""
    extra = g.setdefault("csp_extra", {})
    extra.update({k.replace("_", "-"): v for k, v in directives.items()})


def content_security_policy() -> str:
    policy = dict(BASE_CSP)
    if request.path.startswith(current_app.config.get("OPENAPI_URL_PREFIX", "/api") + "/docs"):
        policy.update(DOCS_CSP)
    policy.update(g.get("csp_extra", {}))
    policy["frame-ancestors"] = g.get("csp_frame_ancestors", "'none'")
    return "; ".join(f"{k} {v}" for k, v in policy.items())


def apply_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy()
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    # Pages and API answers carry patient names: no browser or proxy may keep a copy.
    # Only the static files (CSS, JS, vendored docs script) may be cached.
    if not request.path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")
    if current_app.config.get("LIMBER_ENV") == "production":
        headers["Strict-Transport-Security"] = HSTS
    return response


def init_app(app: Flask) -> None:
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops:
        # Behind TLS-terminating proxies the client address and scheme arrive in X-Forwarded-*;
        # the sign-in limit and the audit log need the real client, not the proxy.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.after_request(apply_headers)
