"""Configuration: defaults, then LIMBER_* environment variables, then the caller's overrides."""

from __future__ import annotations

import math
import os
import secrets
from pathlib import Path
from typing import Any

from service import jsontext

# Environment variable -> (config key, parser). Documented in the README's configuration table.
_ENV: dict[str, tuple[str, Any]] = {
    "LIMBER_DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "LIMBER_BROKER_URL": ("BROKER_URL", str),
    "LIMBER_SECRET_KEY": ("SECRET_KEY", str),
    "LIMBER_ENV": ("LIMBER_ENV", str),
    "LIMBER_PUBLIC_URL": ("PUBLIC_URL", str),
    "LIMBER_SWEEP_SECONDS": ("SWEEP_SECONDS", float),
    "LIMBER_STUCK_AFTER_SECONDS": ("STUCK_AFTER_SECONDS", float),
    "LIMBER_WEBHOOK_ALLOW_PRIVATE": ("WEBHOOK_ALLOW_PRIVATE", lambda v: v == "1"),
    "LIMBER_RATELIMIT_STORAGE_URL": ("RATELIMIT_STORAGE_URI", str),
    "LIMBER_RATELIMIT_KEY_PREFIX": ("RATELIMIT_KEY_PREFIX", str),
    "LIMBER_WEBHOOK_RETRY_SCHEDULE": (
        "WEBHOOK_RETRY_SCHEDULE", lambda v: [float(s) for s in v.split(",") if s.strip()]),
    "LIMBER_WEBHOOK_SECRET_OVERLAP_SECONDS": ("WEBHOOK_SECRET_OVERLAP_SECONDS", float),
    "LIMBER_WEBHOOK_CA_BUNDLE": ("WEBHOOK_CA_BUNDLE", str),
    # Plain-http hosts other than localhost only: drops Secure and the __Host- cookie prefix.
    "LIMBER_INSECURE_COOKIES": ("UI_INSECURE_COOKIES", lambda v: v == "1"),
    # Portal embedding (docs/embedding.md); defaults in service/embed/sessions.py.
    "LIMBER_EMBED_LINK_SECONDS": ("EMBED_LINK_SECONDS", float),
    "LIMBER_EMBED_IDLE_SECONDS": ("EMBED_IDLE_SECONDS", float),
    "LIMBER_EMBED_ABSOLUTE_SECONDS": ("EMBED_ABSOLUTE_SECONDS", float),
    # How many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host.
    "LIMBER_PROXY_HOPS": ("PROXY_HOPS", int),
    # Prefix for every broker key on Redis, so deployments (or test runs) can share one server.
    "LIMBER_BROKER_KEY_PREFIX": ("BROKER_KEY_PREFIX", str),
    # How often the embedded (filesystem) broker's consumers look for messages.
    "LIMBER_BROKER_POLL_SECONDS": ("BROKER_POLL_SECONDS", float),
    # Cap on GET .../handout?wait=N (service/handout_wait.py); 0 turns waiting off.
    "LIMBER_HANDOUT_MAX_WAIT_SECONDS": ("HANDOUT_MAX_WAIT_SECONDS", float),
}

MAX_BODY_BYTES = 1024 * 1024


def default_instance_path() -> Path:
    """The same folder whichever directory `limber` is run from (a second folder would be a
    second instance with another demo key): `instance/` of the source checkout Limber runs
    from, else the user's data folder (an installed package has no checkout to write to)."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and os.access(checkout, os.W_OK):
        return checkout / "instance"
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "limber"


def instance_path() -> Path:
    """Where the embedded default keeps its database, broker folders and secret key."""
    configured = os.environ.get("LIMBER_INSTANCE_PATH")
    return Path(configured).resolve() if configured else default_instance_path()


def defaults(instance: Path) -> dict[str, Any]:
    return {
        "LIMBER_ENV": "development",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'limber.sqlite3'}",
        # No pool_pre_ping: connections idle for a while are pinged instead (connections.py).
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "BROKER_URL": "filesystem://",
        "SECRET_KEY": None,
        "PUBLIC_URL": "",
        "MAX_CONTENT_LENGTH": MAX_BODY_BYTES,
        # Sweeper period, and how long a queued job may wait before it is sent again in case
        # its message was lost. A re-send is cheap (the render task claims the job, so a
        # duplicate message does nothing); a worker (re)connecting re-sends at once anyway.
        "SWEEP_SECONDS": 10.0,
        "STUCK_AFTER_SECONDS": 120.0,
        "RENDER_MAX_ATTEMPTS": 5,
        "HANDOUT_MAX_WAIT_SECONDS": 10.0,
        # The embedded broker's polling: a message waits half of it on average before a worker
        # sees it; an idle worker spends CPU on each look (docs/performance.md: 0.6% of a core
        # at 50 ms, 2.3% at 10 ms).
        "BROKER_POLL_SECONDS": BROKER_POLL_SECONDS,
        "WEBHOOK_ALLOW_PRIVATE": False,
        # Seconds before each delivery attempt: immediately, 5 s, 5 min, 30 min, 2 h, 5 h,
        # 10 h, 14 h, 20 h, 24 h (about three days); then the delivery is marked failed.
        "WEBHOOK_RETRY_SCHEDULE": [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400],
        # How long the previous secret still signs after a rotation.
        "WEBHOOK_SECRET_OVERLAP_SECONDS": 24 * 3600.0,
        # Per attempt: short, so a slow receiver holds a delivery slot for seconds, not minutes;
        # a receiver that needs longer should answer 2xx first and work afterwards.
        "WEBHOOK_CONNECT_TIMEOUT": 2.0,
        "WEBHOOK_READ_TIMEOUT": 5.0,
        # At most this many of one clinic's deliveries are in flight at once, so one clinic's
        # slow endpoints cannot take every delivery slot; and at most this many endpoints.
        "WEBHOOK_CLINIC_IN_FLIGHT": 2,
        "WEBHOOK_MAX_ENDPOINTS": 10,
        # CA certificates webhook receivers are checked against; None means certifi's bundle.
        "WEBHOOK_CA_BUNDLE": None,
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_KEY_PREFIX": "limber-signin",
        "UI_INSECURE_COOKIES": False,
        "API_TITLE": "Limber API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_REDOC_PATH": "/docs",
        # Vendored (service/static/vendor/redoc) so /api/docs needs no CDN.
        "OPENAPI_REDOC_URL": "/static/vendor/redoc/redoc.standalone.js",
        "OPENAPI_SWAGGER_UI_PATH": None,
        "JSON_SORT_KEYS": False,
    }


def from_environment() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (key, parse) in _ENV.items():
        if name in os.environ and os.environ[name] != "":
            out[key] = parse(os.environ[name])
    return out


# Queues (docs/decisions.md "Faults and recovery"): a render backlog must not delay the sweep,
# and a clinic's slow webhook receivers must not delay anyone's handout.
RENDER_QUEUE = "renders"
WEBHOOK_QUEUE = "webhooks"
SWEEPER_QUEUE = "sweeper"
QUEUES = (RENDER_QUEUE, WEBHOOK_QUEUE, SWEEPER_QUEUE)
# Hard limit on one render; a job claimed longer ago than this plus a margin has no live
# worker behind it and the sweeper takes it back. Renders take about a second.
RENDER_TIME_LIMIT = 45
RENDER_SOFT_TIME_LIMIT = 30


def engine_options(url: str, options: dict[str, Any]) -> dict[str, Any]:
    """A database that does not answer must fail a request in seconds, not hang it.

    SQLite (the embedded default) has one writer at a time: web requests, two worker children
    and heartbeats take turns. Its default 5 s wait for the lock turned a burst of plans into
    503s in the soak (9 of 1,000 at 5 plans/s on a busy machine); 15 s lets them queue.
    """
    # JSON text encoded ahead (a snapshot, for its hash) is stored without encoding it again.
    options = {"json_serializer": jsontext.serialize, **options}
    if url.startswith("postgresql"):
        connect_args = {"connect_timeout": 3, **options.get("connect_args", {})}
        return {**options, "connect_args": connect_args}
    if url.startswith("sqlite"):
        connect_args = {"timeout": 15, **options.get("connect_args", {})}
        return {**options, "connect_args": connect_args}
    return options


def sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    """The embedded database in write-ahead-log mode: a commit is one sync of the log instead
    of the rollback journal's several (3.7 ms instead of 10 ms here; docs/performance.md), and
    readers (the web answering, a waiting request) no longer block the worker's writes.
    `synchronous=FULL` keeps every commit on disk at once: a committed plan survives a power
    cut, which NORMAL (no sync per commit) would not promise."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


BROKER_POLL_SECONDS = 0.02


def celery_config(broker_url: str, instance: Path, key_prefix: str = "",
                  poll_seconds: float = BROKER_POLL_SECONDS) -> dict[str, Any]:
    """Celery settings; see DESIGN.md for why each one is set."""
    from kombu import Queue

    conf: dict[str, Any] = {
        "broker_url": broker_url,
        # A worker started without -Q consumes all three; `limber worker -Q ...` picks.
        "task_queues": tuple(Queue(name) for name in QUEUES),
        "task_default_queue": RENDER_QUEUE,
        "task_routes": {
            "limber.render_handout": {"queue": RENDER_QUEUE},
            "limber.deliver_webhook": {"queue": WEBHOOK_QUEUE},
            "limber.sweep_outbox": {"queue": SWEEPER_QUEUE},
        },
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_time_limit": 90,
        "task_soft_time_limit": 60,
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        "beat_schedule_filename": str(instance / "celerybeat-schedule"),
    }
    if broker_url.startswith("filesystem://"):
        broker = instance / "broker"
        # Our transport writes messages atomically and sets malformed ones aside (why:
        # service/filesystem_broker.py); every folder it uses is under the instance path.
        conf["broker_transport"] = "service.filesystem_broker:Transport"
        conf["broker_transport_options"] = {
            "data_folder_in": str(broker / "queue"),
            "data_folder_out": str(broker / "queue"),
            "processed_folder": str(broker / "processed"),
            "control_folder": str(broker / "control"),
            "staging_folder": str(broker / "staging"),
            "malformed_folder": str(broker / "malformed"),
            # Consumers' wake-up sockets (service/local_wake.py); the polling below stays as
            # the fallback.
            "wake_folder": str(broker / "wake"),
            "store_processed": False,
            "polling_interval": poll_seconds,
        }
    elif broker_url.startswith(("redis://", "rediss://")):
        if broker_url.startswith("redis://"):
            # One client per channel, not one per command (service/redis_broker.py).
            conf["broker_transport"] = "service.redis_broker:Transport"
        conf["broker_transport_options"] = {
            # Well above task_time_limit so a long render is not redelivered while running.
            "visibility_timeout": 600,
            # A hung or absent broker must never hang a web request.
            "socket_timeout": 1.0,
            "socket_connect_timeout": 1.0,
            "max_retries": 0,
        }
        if key_prefix:
            conf["broker_transport_options"]["global_keyprefix"] = key_prefix
    return conf


def ensure_secret_key(config: dict[str, Any], instance: Path) -> str:
    """Development keeps a generated key in the instance folder; production must be given one.

    Raises RuntimeError in production without LIMBER_SECRET_KEY.
    """
    production = config.get("LIMBER_ENV") == "production"
    if config.get("SECRET_KEY"):
        key = config["SECRET_KEY"]
        if production and secret_entropy_bits(key) < MIN_SECRET_BITS:
            raise RuntimeError(
                "LIMBER_SECRET_KEY is too weak for production: it needs 32 random bytes "
                "(256 bits), e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(48))'")
        return key
    if production:
        raise RuntimeError("LIMBER_SECRET_KEY must be set when LIMBER_ENV=production")
    key_file = instance / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    make_private_dir(instance)
    key = secrets.token_urlsafe(48)
    write_private(key_file, key)
    return key


MIN_SECRET_BITS = 256


def secret_entropy_bits(key: str) -> float:
    """An upper bound on a key's entropy: its length times the bits per character of the
    smallest usual alphabet its characters fit (hex, base64url, printable ASCII, bytes). A
    short or repetitive key cannot pass; a long random one from any usual generator does.
    (A long English sentence could pass too: a bound, not a proof; see docs/security.md.)"""
    if not key:
        return 0.0
    chars = set(key)
    if chars <= set("0123456789abcdef") or chars <= set("0123456789ABCDEF"):
        per_char = 4.0
    elif all(c.isascii() and (c.isalnum() or c in "-_+/=") for c in chars):
        per_char = 6.0
    elif all(c.isascii() and c.isprintable() for c in chars):
        per_char = 6.55  # log2(94)
    else:
        per_char = 8.0
    # A key of a few characters over and over ("x" * 64, "abab...") is no random key.
    if len(chars) < 10:
        per_char = min(per_char, math.log2(max(2, len(chars))))
    return len(key) * per_char


def make_private_dir(path: Path) -> None:
    """Create `path` (and parents) readable by this user only: it holds the database, the
    broker's messages and the secret key, all of them patient data or keys to it."""
    if not path.exists():
        if not path.parent.exists():
            make_private_dir(path.parent)
        path.mkdir(mode=0o700, exist_ok=True)
        path.chmod(0o700)  # mkdir's mode is masked by the umask


def write_private(path: Path, text: str) -> None:
    """Write a file that only this user can read, never briefly world-readable."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    path.chmod(0o600)


def prepare_sqlite_file(url: str) -> None:
    """Create the SQLite database file owner-only before SQLAlchemy does (it would create it
    0644 under the usual umask); SQLite gives its -wal and -journal files the same mode."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == prefix or ":memory:" in url:
        return
    path = Path(url[len(prefix):].split("?", 1)[0])
    if path.exists():
        # A database made by an earlier version (0644): close it to others now.
        for existing in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm",
                                                                         "-journal"))):
            if existing.exists() and existing.stat().st_uid == os.getuid() \
                    and existing.stat().st_mode & 0o077:
                existing.chmod(0o600)
        return
    make_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
