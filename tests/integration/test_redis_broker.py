"""The Redis transport publishes through one client per channel (service/redis_broker.py)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import redis
from celery import Celery

from service.config import RENDER_QUEUE, celery_config
from service.redis_broker import Channel
from tests.conftest import REDIS_URL, need, redis_available


def test_redis_urls_use_it_and_rediss_keeps_kombus_own(tmp_path: Path) -> None:
    assert celery_config(REDIS_URL, tmp_path)["broker_transport"] == \
        "service.redis_broker:Transport"
    # An explicit transport would drop the rediss scheme and kombu's TLS default with it.
    assert "broker_transport" not in celery_config("rediss://cache.example:6380/0", tmp_path)


@pytest.fixture()
def celery_on_redis(tmp_path: Path) -> Celery:
    need(redis_available(), "Redis on 127.0.0.1:6379")
    conf = celery_config(REDIS_URL, tmp_path, key_prefix=f"limbertest-{uuid.uuid4().hex[:8]}:")
    app = Celery("redis-broker-test")
    app.config_from_object(conf)
    yield app
    prefix = conf["broker_transport_options"]["global_keyprefix"]
    server = redis.Redis.from_url(REDIS_URL)
    for key in server.scan_iter(f"{prefix}*"):
        server.delete(key)


def queued(app: Celery) -> int:
    prefix = app.conf.broker_transport_options["global_keyprefix"]
    return redis.Redis.from_url(REDIS_URL).llen(f"{prefix}{RENDER_QUEUE}")


def test_publishing_makes_one_client_and_every_message_arrives(
        celery_on_redis: Celery, monkeypatch: pytest.MonkeyPatch) -> None:
    made = []
    create = Channel._create_client

    def counting(self: Channel, asynchronous: bool = False) -> object:
        if not asynchronous:  # kombu's own consuming client, made once per channel anyway
            made.append(asynchronous)
        return create(self, asynchronous)

    monkeypatch.setattr(Channel, "_create_client", counting)
    with celery_on_redis.producer_or_acquire() as producer:
        for n in range(20):
            celery_on_redis.send_task("limber.render_handout", args=[n], producer=producer,
                                      retry=False)
        assert made == [False]
        # kombu drops its pools after a fork or a lost connection; the next command gets a
        # client on the new pool, not one bound to the old.
        channel = producer.channel
        channel._disconnect_pools()
        celery_on_redis.send_task("limber.render_handout", args=[20], producer=producer,
                                  retry=False)
        assert made == [False, False]
        assert channel._command_client.connection_pool is channel.pool
    assert queued(celery_on_redis) == 21


def test_a_channel_closed_after_its_connection_does_not_end_the_worker(
        celery_on_redis: Celery) -> None:
    """What ended a webhook worker when Redis went away: the consumer's connection closes, then
    its channel closes and restores the messages it had not acknowledged, which needs a new
    pool from a connection that has no details left (kombu: AttributeError, uncaught by every
    close path). It must be a connection error, which they all ignore."""
    from kombu import Connection, Queue

    options = celery_on_redis.conf.broker_transport_options
    with Connection(REDIS_URL, transport="service.redis_broker:Transport",
                    transport_options=options) as conn:
        channel = conn.default_channel
        queue = Queue("close-test", routing_key="close-test")(channel)
        queue.declare()
        conn.Producer(channel).publish({"job": 1}, routing_key="close-test")
        message = queue.get(no_ack=False)
        assert message is not None  # delivered, not acknowledged: close will restore it
        conn.transport.client = None  # what kombu leaves once the connection closed
        channel._disconnect_pools()
        conn.maybe_close_channel(channel)  # raised AttributeError before
        assert channel.closed
