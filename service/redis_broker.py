"""kombu's Redis transport with two fixes: one client object per channel instead of one per
command, and a closed connection reported as a connection error rather than an AttributeError.

kombu's Redis channel builds a new `redis.Redis` for every command it sends (`conn_or_acquire`
without a client), and redis-py's constructor fills a table of about 170 response callbacks
each time: a third of the cost of publishing a render message from the web, more than the
LPUSH itself (docs/performance.md, plan creation, fourth round). A client object holds no
connection of its own (each command borrows one from the channel's pool, which is
thread-safe), so one per channel sends exactly what a new one would.

Used for `redis://` brokers (service/config.py). `rediss://` keeps kombu's own transport (and
its supervised restarts on the closed-connection error): an explicit transport setting would
lose the scheme, and with it kombu's TLS default.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu.transport import redis
from redis.exceptions import ConnectionError as RedisConnectionError


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

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        # A channel closing after its connection closed (the broker went away) still restores
        # its unacknowledged messages and acks late ones, which makes a new pool, and kombu
        # read the closed connection's details as an AttributeError: uncaught, it ended the
        # worker (the fault suite's Redis scenarios, now and then). As a connection error it is
        # what every close path already ignores, and the consumer reconnects.
        if self.connection is None or self.connection.client is None:
            raise RedisConnectionError("the broker connection is closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(redis.Transport):
    Channel = Channel
