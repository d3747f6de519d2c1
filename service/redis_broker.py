"""kombu's Redis transport, with one client object per channel instead of one per command.

kombu's Redis channel builds a new `redis.Redis` for every command it sends (`conn_or_acquire`
without a client), and redis-py's constructor fills a table of about 170 response callbacks
each time: a third of the cost of publishing a render message from the web, more than the
LPUSH itself (docs/performance.md, plan creation, fourth round). A client object holds no
connection of its own (each command borrows one from the channel's pool, which is
thread-safe), so one per channel sends exactly what a new one would.

Used for `redis://` brokers (service/config.py). `rediss://` keeps kombu's own transport: an
explicit transport setting would lose the scheme, and with it kombu's TLS default.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu.transport import redis


class Channel(redis.Channel):
    _command_client: Any = None

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:  # noqa: ANN401
        if client:
            yield client
            return
        # kombu drops its pools after a fork or a lost connection: a client made on a pool the
        # channel no longer uses is made again.
        cached = self._command_client
        if cached is None or cached.connection_pool is not self.pool:
            cached = self._command_client = self._create_client()
        yield cached


class Transport(redis.Transport):
    Channel = Channel
