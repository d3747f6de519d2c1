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


def _app():  # noqa: ANN202 - imported lazily so `limber --help` is instant
    from service import create_app

    return create_app()


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

    app = _app()
    schema.upgrade(app)
    if demo:
        clinic, key = seed_demo(app)
        _print_demo(clinic.name, key, f"http://{host}:{port}", demo_sign_ins(app))
    env = {**os.environ, "LIMBER_INSTANCE_PATH": app.config["INSTANCE_PATH"]}
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
    _print_demo(clinic.name, key, app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000",
                demo_sign_ins(app))


def _print_demo(clinic_name: str, key: str, base: str,
                sign_ins: Sequence[tuple[str, str, str]] = ()) -> None:
    accounts = "".join(f"\n  {role}: {email}  password: {password}"
                       for role, email, password in sign_ins)
    click.echo(f"""
Demo clinic: {clinic_name}
Sign in at {base}/sign-in{accounts}
Try the API:
  curl -s -H "Authorization: Bearer {key}" {base}/api/v1/templates
  curl -s -X POST {base}/api/v1/plans -H "Authorization: Bearer {key}" \\
       -H "Content-Type: application/json" \\
       -d '{{"template_id": "core_routine", "patient": {{"display_name": "Ana P."}}}}'
API docs: {base}/api/docs
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
            raise click.ClickException(f"no clinic with slug {slug!r}")
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


def _clinic_or_fail(slug: str):  # noqa: ANN202 - a Clinic; models import lazily
    from service.extensions import db as database
    from service.models import Clinic

    clinic = database.session.scalar(select(Clinic).where(Clinic.slug == slug))
    if clinic is None:
        raise click.ClickException(f"no clinic with slug {slug!r}")
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
