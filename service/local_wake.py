"""Wake-up datagrams between processes on one machine, for the embedded default (no Redis).

A process that waits for something another local process does (the embedded broker's worker
waiting for a message file, a request waiting for its handout) listens on a Unix datagram
socket in a private folder; the process that did the thing sends a one-byte datagram to every
socket in that folder whose name starts with the agreed prefix. The datagram carries nothing:
the waiter looks at the real state (the queue folder, the job row) when woken, so a lost,
late or extra wake-up only costs time. Where Unix datagram sockets are missing (Windows), the
socket path is too long for the platform, or anything else fails, the waiter polls as before.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import time
import uuid
from pathlib import Path

log = logging.getLogger(__name__)

_UNIX = getattr(socket, "AF_UNIX", None)


class Listener:
    """One waiter's socket; `wait` returns when woken or after `timeout`."""

    def __init__(self, sock: socket.socket, path: str) -> None:
        self._sock = sock
        self.path = path

    @classmethod
    def open(cls, folder: Path, prefix: str) -> Listener | None:
        """A listener bound in `folder` (which must exist and be private), or None to poll."""
        if _UNIX is None:
            return None
        path = str(folder / f"{prefix}{os.getpid()}-{uuid.uuid4().hex[:8]}")
        sock = socket.socket(_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(path)  # too long a path or a missing folder: OSError
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            log.debug("local wake-ups unavailable, polling instead: %s", type(exc).__name__)
            return None
        return cls(sock, path)

    def wait(self, timeout: float) -> bool:
        """Sleep until a wake-up arrives or `timeout` seconds pass; True when woken. Wake-ups
        that piled up meanwhile are all taken, so one look answers them all."""
        try:
            ready, _, _ = select.select([self._sock], [], [], max(0.0, timeout))
        except (OSError, ValueError):
            return False
        woken = False
        while ready:
            try:
                self._sock.recv(16)
            except OSError:  # BlockingIOError: nothing left
                break
            woken = True
        return woken

    def close(self) -> None:
        self._sock.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)


def wake(folder: Path, prefix: str) -> int:
    """Send a wake-up to every listener in `folder` named `prefix...`; returns how many got
    one. Never raises and never blocks: a full socket buffer means that listener has
    wake-ups waiting already. A socket file nobody listens on (its process was killed) is
    removed: connection refused means no socket is bound to it any more."""
    if _UNIX is None:
        return 0
    try:
        names = [n for n in os.listdir(folder) if n.startswith(prefix)]
    except OSError:
        return 0
    if not names:
        return 0
    woken = 0
    with socket.socket(_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        for name in names:
            path = os.path.join(folder, name)
            try:
                sock.sendto(b"1", path)
                woken += 1
            except ConnectionRefusedError:
                with contextlib.suppress(OSError):
                    os.unlink(path)
            except OSError:  # gone meanwhile, buffer full, path too long: the poll covers it
                pass
    return woken


def remove_older_than(folder: Path, seconds: float) -> int:
    """Remove sockets bound more than `seconds` ago, for listeners that never live that long
    (a waiting request lives at most its wait): what a killed process left behind that no
    wake-up will ever clear. Returns how many were removed."""
    removed = 0
    cutoff = time.time() - seconds
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        with contextlib.suppress(OSError):
            if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
    return removed
