"""Local wake-ups (service/local_wake.py): a listener is woken by name, a socket left by a
killed process is cleared by the next sender, and where a socket cannot be had the caller is
told to poll instead."""

from __future__ import annotations

import os
import socket
import time

import pytest

from service import local_wake

pytestmark = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets")


def test_a_listener_is_woken_by_its_prefix_only(tmp_path):
    """A wake-up reaches the listeners whose names start with the prefix, and no other."""
    mine = local_wake.Listener.open(tmp_path, "r12-")
    other = local_wake.Listener.open(tmp_path, "r123-")
    assert mine is not None and other is not None
    try:
        assert local_wake.wake(tmp_path, "r12-") == 1
        start = time.monotonic()
        assert mine.wait(5.0) is True
        assert time.monotonic() - start < 1.0
        assert other.wait(0.05) is False
        # Several wake-ups that piled up are taken by one wait.
        local_wake.wake(tmp_path, "r12-")
        local_wake.wake(tmp_path, "r12-")
        assert mine.wait(0) is True
        assert mine.wait(0.05) is False
    finally:
        mine.close()
        other.close()
    assert os.listdir(tmp_path) == []


def test_a_socket_nobody_listens_on_is_removed_by_the_next_sender(tmp_path):
    """A killed process cannot remove its socket; the next wake-up finds it refused and
    removes it, and the waiter that is alive still gets its wake-up."""
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(str(tmp_path / "consumer-1-dead"))
    dead.close()  # closed without unlinking, as after kill -9
    alive = local_wake.Listener.open(tmp_path, "consumer-")
    assert alive is not None
    try:
        assert local_wake.wake(tmp_path, "consumer-") == 1
        assert alive.wait(1.0) is True
        assert sorted(os.listdir(tmp_path)) == [os.path.basename(alive.path)]
    finally:
        alive.close()


def test_without_a_usable_socket_the_caller_polls(tmp_path):
    """A folder that does not exist, or a path longer than the platform allows: no listener
    (the caller polls as before), and a wake-up to nobody is not an error."""
    assert local_wake.Listener.open(tmp_path / "missing", "r1-") is None
    deep = tmp_path / ("x" * 200)
    deep.mkdir()
    assert local_wake.Listener.open(deep, "r1-") is None
    assert local_wake.wake(tmp_path / "missing", "r1-") == 0
    assert local_wake.wake(tmp_path, "r1-") == 0


def test_sockets_older_than_any_listener_lives_are_removed(tmp_path):
    """A waiting request lives at most its wait; a socket bound longer ago than that was left
    by a killed process and is removed, a recent one is kept."""
    old = local_wake.Listener.open(tmp_path, "r1-")
    new = local_wake.Listener.open(tmp_path, "r2-")
    assert old is not None and new is not None
    try:
        long_ago = time.time() - 3600
        os.utime(old.path, (long_ago, long_ago), follow_symlinks=False)
        assert local_wake.remove_older_than(tmp_path, 100) == 1
        assert os.listdir(tmp_path) == [os.path.basename(new.path)]
    finally:
        old.close()
        new.close()
