"""The `limber` command: run everything locally, run a worker, seed demo data, manage keys."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import click
from sqlalchemy import select

from service.config import QUEUES

WORKER_CMD = [sys.executable, "-m", "celery", "-A", "workers.app", "worker",
              "--loglevel", "INFO"]
BEAT_CMD = [sys.executable, "-m", "celery", "-A", "workers.app", "beat", "--loglevel", "INFO"]


def _app(config: dict | None = None):  # noqa: ANN202 - imported lazily so --help is instant
    from service import create_app

    return create_app(config)


def listen_url(host: str, port: int) -> str:
    """The address `limber run` serves on, for links it hands out; "" for a wildcard bind,
    where no one address is right and each request's own host is used instead."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - compared, not bound
        return ""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@click.group()
def main() -> None:
    """Limber: personalised hamstring and low-back home plans with safe handouts."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--demo/--no-demo", default=True, show_default=True,
              help="Seed the demo clinic and print its API key.")
def run(host: str, port: int, demo: bool) -> None:
    """Web + Celery worker + beat together, on the embedded default unless configured."""
    from service import schema
    from service.demo import demo_sign_ins, seed_demo

    # Webhook payloads (built by the worker too) and embed links use this address, unless
    # LIMBER_PUBLIC_URL says where the public reaches us.
    public = os.environ.get("LIMBER_PUBLIC_URL") or listen_url(host, port)
    app = _app({"PUBLIC_URL": public} if public else None)
    schema.upgrade(app)
    if demo:
        clinic, key = seed_demo(app)
        _print_demo(clinic.name, clinic.slug, key, public or f"http://127.0.0.1:{port}",
                    demo_sign_ins(app))
    env = {**os.environ, "LIMBER_INSTANCE_PATH": app.config["INSTANCE_PATH"]}
    if public:
        env["LIMBER_PUBLIC_URL"] = public
    # Worker and beat are separate processes, each restarted if it dies: the sweeper that
    # rescues lost handouts must not die with a worker (it once did, and handouts stalled).
    children = Supervisor([
        # One worker for all three queues keeps the embedded default small; production runs
        # a worker per queue (docker-compose.yml).
        ("worker", [*WORKER_CMD, "--concurrency", "2", "-Q", ",".join(QUEUES)]),
        ("beat", BEAT_CMD),
    ], env)
    children.start()
    # Ctrl-C, and SIGTERM from a supervisor, stop web and worker together. Installed explicitly
    # because a shell starting us in the background hands us SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        from werkzeug.serving import run_simple

        run_simple(host, port, app, threaded=True, use_reloader=False)
    except KeyboardInterrupt:
        pass
    finally:
        click.echo("Stopping the worker and beat ...")
        children.stop()


class Supervisor:
    """Keeps `limber run`'s worker and beat running: one that exits is started again, and the
    restart is said on the console. Restarts back off (1 s, doubling to 30 s) while a process
    keeps dying within a minute of its start, so a broken setup does not spin."""

    def __init__(self, commands: Sequence[tuple[str, list[str]]], env: dict[str, str]) -> None:
        self.commands = list(commands)
        self.env = env
        self.procs: dict[str, subprocess.Popen] = {}
        self.started_at: dict[str, float] = {}
        self.delay: dict[str, float] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="limber-supervisor",
                                       daemon=True)

    def start(self) -> None:
        for name, cmd in self.commands:
            self._spawn(name, cmd)
        self.thread.start()

    def _spawn(self, name: str, cmd: list[str]) -> None:
        self.procs[name] = subprocess.Popen(cmd, env=self.env)  # noqa: S603
        self.started_at[name] = time.monotonic()

    def _watch(self) -> None:
        while not self.stopping.wait(0.5):
            for name, cmd in self.commands:
                code = self.procs[name].poll()
                if code is None or self.stopping.is_set():
                    continue
                lived = time.monotonic() - self.started_at[name]
                delay = 1.0 if lived > 60 else min(self.delay.get(name, 0.5) * 2, 30.0)
                self.delay[name] = delay
                click.echo(f"limber run: the {name} stopped unexpectedly (exit code {code}); "
                           f"starting it again in {delay:.0f} s", err=True)
                if self.stopping.wait(delay):
                    return
                self._spawn(name, cmd)
                click.echo(f"limber run: the {name} is running again", err=True)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        for proc in self.procs.values():
            _stop(proc)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # Celery's warm shutdown: finish the current task
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@main.command(context_settings={"ignore_unknown_options": True})
@click.option("--beat", is_flag=True, help="Also run the sweeper schedule in this worker.")
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(beat: bool, celery_args: tuple[str, ...]) -> None:
    """A Celery worker (extra args go to celery). Without -Q it takes all three queues:
    renders, webhooks and sweeper; production gives each its own workers."""
    cmd = [*WORKER_CMD, *(["-B"] if beat else []), *celery_args]
    os.execv(sys.executable, cmd)  # noqa: S606


@main.command()
def beat() -> None:
    """Celery beat: sends the outbox sweep on schedule. Run exactly one in production."""
    os.execv(sys.executable, BEAT_CMD)  # noqa: S606


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations."""
    from service import schema

    schema.upgrade(_app())
    click.echo("database is up to date")


@main.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("prune")
@click.option("--older-than-days", "days", type=click.IntRange(min=30), required=True,
              help="Delete events older than this many days (at least 30).")
def audit_prune(days: int) -> None:
    """Delete old audit events. Limber never deletes them by itself: how long to keep them is
    the clinic's records policy, not ours (docs/security.md)."""
    from datetime import timedelta

    from sqlalchemy import delete

    from service import audit
    from service.extensions import db as database
    from service.models import utcnow

    with _app().app_context():
        cutoff = utcnow() - timedelta(days=days)
        result = database.session.execute(delete(audit.AuditEvent)
                                          .where(audit.AuditEvent.at < cutoff))
        database.session.commit()
        click.echo(f"Deleted {result.rowcount} audit events from before "
                   f"{cutoff:%Y-%m-%d %H:%M} UTC.")


@main.command()
def demo() -> None:
    """Seed the demo clinic (idempotent) and print its API key and how to try it."""
    from service import schema
    from service.demo import demo_sign_ins, seed_demo

    app = _app()
    schema.upgrade(app)
    clinic, key = seed_demo(app)
    click.echo(f"Instance folder: {app.config['INSTANCE_PATH']}")
    _print_demo(clinic.name, clinic.slug, key, _base_url(app), demo_sign_ins(app))


def _print_demo(clinic_name: str, slug: str, key: str, base: str,
                sign_ins: Sequence[tuple[str, str, str]] = ()) -> None:
    accounts = "".join(f"\n  {role}: {email}  password: {password}"
                       for role, email, password in sign_ins)
    click.echo(f"""
Demo clinic: {clinic_name}  (slug: {slug}, for `limber ... --clinic {slug}`)
Sign in at {base}/sign-in{accounts}
Try the API:
  curl -s -H "Authorization: Bearer {key}" {base}/api/v1/templates
  curl -s -X POST {base}/api/v1/plans -H "Authorization: Bearer {key}" \\
       -H "Content-Type: application/json" \\
       -d '{{"template_id": "core_routine", "patient": {{"display_name": "Ana P."}}}}'
API docs: {base}/api/docs
Other commands (from a checkout: python3 dev.py limber ...):
  limber clinic list    limber api-key create --clinic {slug}
Demo API key:
{key}
""")


@main.group("api-key")
def api_key() -> None:
    """API keys for clinic portals."""


@api_key.command("create")
@click.option("--clinic", "slug", required=True, help="The clinic's slug.")
@click.option("--name", default="", help="A label to tell keys apart.")
@click.option("--scope", "scope_names", multiple=True,
              help="plans, webhooks, embed or keys; repeat for several. "
                   "Default: plans, webhooks, embed (never keys unless asked).")
def api_key_create(slug: str, name: str, scope_names: tuple[str, ...]) -> None:
    """Create a key; it is printed once, on the last line, and stored only as a hash."""
    from service import audit, scopes
    from service.auth import issue_api_key
    from service.extensions import db as database
    from service.models import Clinic

    app = _app()
    with app.app_context():
        clinic = database.session.scalar(select(Clinic).where(Clinic.slug == slug))
        if clinic is None:
            raise click.ClickException(f"no clinic with slug {slug!r}{_SLUG_HINT}")
        try:
            chosen = scopes.parse(list(scope_names) or list(scopes.DEFAULT))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--scope") from None
        row, plain = issue_api_key(clinic, name=name, scope_names=chosen)
        database.session.flush()
        audit.record(audit.API_KEY_CREATED, clinic_id=clinic.id, actor="system",
                     target=f"api-key:{row.id}",
                     detail={"prefix": row.prefix, "via": "cli", "scopes": row.scope_list})
        database.session.commit()
        click.echo(f"Created API key {row.prefix}… for {clinic.name}. Store it now; "
                   "it cannot be shown again.")
        click.echo(plain)


_SLUG_HINT = ("; `limber clinic list` shows the slugs (the demo clinic's is 'demo'), "
              "`limber clinic create` adds a clinic")


def _clinic_or_fail(slug: str):  # noqa: ANN202 - a Clinic; models import lazily
    from service.extensions import db as database
    from service.models import Clinic

    clinic = database.session.scalar(select(Clinic).where(Clinic.slug == slug))
    if clinic is None:
        raise click.ClickException(f"no clinic with slug {slug!r}{_SLUG_HINT}")
    return clinic


def _when(value) -> str:  # noqa: ANN001 - a datetime or None
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


@api_key.command("list")
@click.option("--clinic", "slug", required=True, help="The clinic's slug.")
def api_key_list(slug: str) -> None:
    """The clinic's keys, newest first: id, prefix, name, created, last used, revoked."""
    from service.extensions import db as database
    from service.models import ApiKey

    with _app().app_context():
        clinic = _clinic_or_fail(slug)
        rows = database.session.scalars(select(ApiKey).where(ApiKey.clinic_id == clinic.id)
                                        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc()))
        click.echo(f"{'ID':>5}  {'PREFIX':<14}{'NAME':<24}{'CREATED':<22}{'LAST USED':<22}REVOKED")
        for row in rows:
            click.echo(f"{row.id:>5}  {row.prefix:<14}{row.name[:22]:<24}"
                       f"{_when(row.created_at):<22}{_when(row.last_used_at):<22}"
                       f"{_when(row.revoked_at)}")


@api_key.command("revoke")
@click.argument("prefix_or_id")
@click.option("--clinic", "slug", required=True, help="The clinic's slug.")
def api_key_revoke(prefix_or_id: str, slug: str) -> None:
    """Revoke one of the clinic's keys, by its id or its prefix (as `list` shows them).
    It stops working on its next request."""
    from service import audit
    from service.extensions import db as database
    from service.models import ApiKey, utcnow

    with _app().app_context():
        clinic = _clinic_or_fail(slug)
        query = select(ApiKey).where(ApiKey.clinic_id == clinic.id)
        if prefix_or_id.isdigit() and len(prefix_or_id) < 10:  # beyond int4: a prefix
            query = query.where(ApiKey.id == int(prefix_or_id))
        else:
            query = query.where(ApiKey.prefix == prefix_or_id)
        rows = list(database.session.scalars(query))
        if not rows:
            raise click.ClickException(f"{clinic.name} has no API key {prefix_or_id!r}")
        if len(rows) > 1:
            raise click.ClickException(f"{len(rows)} keys start with {prefix_or_id!r}; "
                                       "revoke by id instead (see `limber api-key list`)")
        row = rows[0]
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            audit.record(audit.API_KEY_REVOKED, clinic_id=clinic.id, actor="system",
                         target=f"api-key:{row.id}", detail={"prefix": row.prefix, "via": "cli"})
            database.session.commit()
            click.echo(f"Revoked API key {row.prefix}… (id {row.id}) of {clinic.name}.")
        else:
            click.echo(f"API key {row.prefix}… (id {row.id}) was already revoked "
                       f"at {_when(row.revoked_at)}.")


@main.group()
def clinic() -> None:
    """Clinics: onboard one with its first admin, list, disable, retention, export."""


def _clinic_app():  # noqa: ANN202 - a Flask app
    """Clinic commands may be an operator's first command on a fresh instance: the schema is
    brought up to date first (a no-op when it is), as `limber demo` does."""
    from service import schema

    app = _app()
    schema.upgrade(app)
    return app


def _base_url(app) -> str:  # noqa: ANN001 - a Flask app
    return (app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/")


@clinic.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The clinic's name, as handouts print it.")
@click.option("--admin-email", required=True, help="The first clinic admin's email address.")
@click.option("--admin-name", default="", help="The admin's name (default 'Clinic admin').")
@click.option("--emergency-number", default="911", show_default=True,
              help="The local emergency number every handout tells patients to call.")
@click.option("--out-of-hours", required=True,
              help="Where patients get help when the clinic is closed (e.g. 'Call 555-0199 or "
                   "go to urgent care'); every handout prints it.")
@click.option("--contact", required=True,
              help="The clinic's phone (and address), printed on handouts: patients are told "
                   "to call it.")
def clinic_create(slug: str, name: str, admin_email: str, admin_name: str,
                  emergency_number: str, out_of_hours: str, contact: str) -> None:
    """Create a clinic and its first admin; prints the admin's one-time set-password link."""
    from flask import url_for

    from service import clinics

    app = _clinic_app()
    with app.app_context():
        try:
            row, admin, token = clinics.create_clinic(
                slug, name, admin_email, contact, out_of_hours, admin_name, emergency_number)
        except clinics.ClinicProblem as problem:
            raise click.UsageError(f"{problem.field}: {problem}") from None
        with app.test_request_context(base_url=_base_url(app)):
            link = url_for("accounts.set_password", token=token, _external=True)
        click.echo(f"Created clinic {row.slug!r} ({row.name}) with clinic admin {admin.email}.")
        click.echo("Send the admin this one-time link to choose a password "
                   "(it works once, for 72 hours):")
        click.echo(link)
        click.echo(f"Then: limber api-key create --clinic {row.slug}")


@clinic.command("admin-link")
@click.argument("slug")
@click.option("--email", required=True, help="The clinic admin's email address.")
def clinic_admin_link(slug: str, email: str) -> None:
    """A new one-time set-password link for one of the clinic's admins (lost link, forgotten
    password of the only admin); any earlier link stops working."""
    from flask import url_for

    from service import audit
    from service.accounts.clinicians import by_email, new_link
    from service.extensions import db as database

    app = _clinic_app()
    with app.app_context():
        row = _clinic_or_fail(slug)
        admin = by_email(email)
        if admin is None or admin.clinic_id != row.id or not admin.is_admin:
            raise click.ClickException(f"{row.slug} has no clinic admin {email!r}")
        token = new_link(admin)
        audit.record(audit.CLINICIAN_LINK_ISSUED, clinic_id=row.id, actor="system",
                     target=f"clinician:{admin.id}", detail={"via": "cli"})
        database.session.commit()
        with app.test_request_context(base_url=_base_url(app)):
            click.echo(url_for("accounts.set_password", token=token, _external=True))


@clinic.command("list")
def clinic_list() -> None:
    """Every clinic: slug, state, retention, plans, admins, name."""
    from sqlalchemy import func

    from service.accounts.models import Clinician
    from service.extensions import db as database
    from service.models import Clinic, Plan

    with _clinic_app().app_context():
        plans = dict(database.session.execute(
            select(Plan.clinic_id, func.count(Plan.id)).group_by(Plan.clinic_id)).all())
        admins = dict(database.session.execute(
            select(Clinician.clinic_id, func.count(Clinician.id))
            .where(Clinician.role == Clinician.ADMIN, Clinician.active.is_(True))
            .group_by(Clinician.clinic_id)).all())
        click.echo(f"{'SLUG':<20}{'STATE':<10}{'RETENTION':<12}{'PLANS':>6}{'ADMINS':>8}  NAME")
        for row in database.session.scalars(select(Clinic).order_by(Clinic.slug)):
            state = "enabled" if row.enabled else "disabled"
            keep = f"{row.retention_days} days" if row.retention_days else "kept"
            click.echo(f"{row.slug:<20}{state:<10}{keep:<12}{plans.get(row.id, 0):>6}"
                       f"{admins.get(row.id, 0):>8}  {row.name}")


def _set_enabled(slug: str, enabled: bool) -> None:
    from service import clinics

    with _clinic_app().app_context():
        row = _clinic_or_fail(slug)
        changed = clinics.set_enabled(row, enabled)
        state = "enabled" if enabled else "disabled"
        if not changed:
            click.echo(f"{row.slug} was already {state}.")
        elif enabled:
            click.echo(f"{row.slug} is enabled: its keys and sign-ins work again.")
        else:
            click.echo(f"{row.slug} is disabled: its API keys, sign-ins and embed sessions are "
                       "refused from the next request. Its data is kept "
                       f"(`limber clinic enable {row.slug}` undoes this).")


@clinic.command("disable")
@click.argument("slug")
def clinic_disable(slug: str) -> None:
    """Refuse the clinic's API keys, sign-ins and embed sessions; keep its data."""
    _set_enabled(slug, False)


@clinic.command("enable")
@click.argument("slug")
def clinic_enable(slug: str) -> None:
    """Let a disabled clinic's keys and sign-ins work again."""
    _set_enabled(slug, True)


@clinic.command("retention")
@click.argument("slug")
@click.argument("days")
def clinic_retention(slug: str, days: str) -> None:
    """Erase the clinic's plans DAYS days after their last revision ('off' keeps them).

    The sweeper erases them, as DELETE /api/v1/plans/{id} would, each with a plan.deleted
    event and an audit row."""
    from service import clinics, erasure

    if days.lower() == "off":
        value = None
    elif days.isdigit():
        value = int(days)
    else:
        raise click.UsageError("DAYS: give a whole number of days, or 'off'.")
    with _clinic_app().app_context():
        row = _clinic_or_fail(slug)
        try:
            clinics.set_retention(row, value)
        except clinics.ClinicProblem as problem:
            raise click.UsageError(f"DAYS: {problem}") from None
        if value is None:
            click.echo(f"{row.slug} keeps its plans until they are deleted.")
        else:
            due = erasure.count_expired(row, value)
            click.echo(f"{row.slug}: plans are erased {value} days after their last revision. "
                       f"{due} plan(s) are past that now and go at the next sweep.")


@clinic.command("export")
@click.argument("slug")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def clinic_export(slug: str, file: Path) -> None:
    """Write a zip of the clinic's plans: JSON per revision plus its PDF and HTML handouts.

    The file holds patient data: it is created readable by you only, and never overwritten."""
    from service.export import export_clinic

    with _clinic_app().app_context():
        row = _clinic_or_fail(slug)
        try:
            manifest = export_clinic(row, file)
        except FileExistsError:
            raise click.ClickException(f"{file} exists; choose a new file name.") from None
        revisions = sum(len(p["revisions"]) for p in manifest["plans"])
        click.echo(f"Wrote {file}: {len(manifest['plans'])} plan(s), {revisions} revision(s) "
                   f"of {row.slug}.")


@main.group()
def templates() -> None:
    """The vetted template library."""


@templates.command("check")
@click.argument("data_dir", required=False, type=click.Path(path_type=Path))
def templates_check(data_dir: Path | None) -> None:
    """Validate every template file; exits non-zero listing `file: field: problem`."""
    from plans.catalogue import DATA_DIR
    from plans.vetting import check_templates

    started = time.monotonic()
    problems = check_templates(data_dir or DATA_DIR)
    for p in problems:
        click.echo(str(p), err=True)
    if problems:
        raise SystemExit(1)
    click.echo(f"all templates are valid ({time.monotonic() - started:.1f}s)")


if __name__ == "__main__":
    main()
