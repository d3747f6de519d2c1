#!/usr/bin/env python3
"""The README's two commands: `python3 dev.py run` and `python3 dev.py test`.

`python3 dev.py limber ARGS` runs any other `limber` command (`clinic create`, `api-key
create`, ...) in the same virtual environment and on the same instance folder.

Needs only Python 3.11+: makes a virtual environment in .venv, installs Limber into it when
pyproject.toml changed, then runs the service (web + worker + beat, SQLite and a filesystem
broker, demo data) or the whole test suite. Extra arguments go to `limber run` or pytest.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def ensure_installed(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be run by an older python3
        sys.exit(f"Limber needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PY.exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".limber-installed-{extras or 'base'}"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == want:
        return
    target = f".[{extras}]" if extras else "."
    print(f"Installing Limber and its dependencies ({target}) ...", flush=True)
    subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",  # noqa: S603
                    "-e", target], cwd=ROOT, check=True)
    stamp.write_text(want)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test", "limber"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    os.chdir(ROOT)
    if command in ("run", "limber"):
        ensure_installed("")
        os.environ.setdefault("LIMBER_INSTANCE_PATH", str(ROOT / "instance"))
        args = ["run", *rest] if command == "run" else rest
        return subprocess.call([str(BIN / "limber"), *args])  # noqa: S603
    ensure_installed("dev")
    return subprocess.call([str(PY), "-m", "pytest", *rest])  # noqa: S603


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
