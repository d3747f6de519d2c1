"""The embedded broker: kombu's filesystem transport, safe for a web process and workers sharing it.

kombu's own transport creates a message file and then writes it, while a worker lists the folder
and reads whatever is there without a lock: a worker that picks up a file between the two reads a
partial message and dies with JSONDecodeError (seen twice in about 210 plans under `limber run`).
It also moves messages it reads to the system temp folder and keeps its exchange tables in a
`control/` folder in the current directory. Here every message is written to a side folder and
renamed into the queue (a rename is atomic, so a reader sees a whole message or none), a message
that still cannot be read is moved aside and logged instead of killing the worker, and every folder
comes from the transport options (the instance path, see service/config.py).

kombu's consumer lists the queue folder, and when it is empty sleeps the polling interval (20 ms)
before looking again: on average half of it was added to every handout. A consumer here also
listens on a local socket in the `wake_folder`, and every put sends it a wake-up
(service/local_wake.py), so a message is taken as soon as it is in the queue; the polling stays,
as the fallback where local sockets are not available and for a wake-up that is lost.
"""

from __future__ import annotations

import itertools
import logging
import os
import uuid
from pathlib import Path
from time import monotonic, sleep, time_ns
from typing import Any

from kombu.transport import filesystem
from kombu.transport.virtual import base as virtual_base
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

from service import local_wake

log = logging.getLogger(__name__)

# Readers take messages in file-name order. Two puts in the same millisecond used to tie on the
# time and fall back to the random id, so a process could see its own messages out of order;
# a fixed-width nanosecond time and a per-process sequence keep one sender's messages in order.
_sequence = itertools.count()

# Names of the consumers' sockets in the wake folder.
_CONSUMER = "consumer-"


class Channel(filesystem.Channel):
    """Atomic puts, claim-by-rename gets, and malformed files set aside rather than fatal."""

    @property
    def staging_folder(self) -> str:
        return self.transport_options.get("staging_folder", "staging")

    @property
    def malformed_folder(self) -> str:
        return self.transport_options.get("malformed_folder", "malformed")

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{time_ns():020d}_{next(_sequence) % 10**6:06d}_{uuid.uuid4()}.{queue}.msg"
        staged = os.path.join(self.staging_folder, name)
        try:
            with open(staged, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            # Same file system (both under the broker folder), so the message appears whole.
            os.replace(staged, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add message {name!r} to the queue") from exc
        folder = self.transport_options.get("wake_folder")
        if folder:
            local_wake.wake(Path(folder), _CONSUMER)

    def _get(self, queue: str) -> dict[str, Any]:
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(self.processed_folder, name)
            try:
                # Whoever renames the file first owns the message; the others move on.
                os.replace(os.path.join(self.data_folder_in, name), claimed)
            except OSError:
                continue
            try:
                with open(claimed, "rb") as f:
                    raw = f.read()
            except OSError:
                continue
            message = self._parse(raw)
            if message is None:
                self._set_aside(claimed, name)
                continue
            if not self.store_processed:
                os.remove(claimed)
            return message
        raise filesystem.Empty()

    def _parse(self, raw: bytes) -> dict[str, Any] | None:
        """The message, or None when it is not one the worker could take without crashing."""
        try:
            message = loads(bytes_to_str(raw))
            properties = message["properties"]
            if "delivery_tag" not in properties:
                return None
            if message.get("body"):
                self.decode_body(message["body"], properties.get("body_encoding"))
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        return message if isinstance(message, dict) else None

    def _set_aside(self, path: str, name: str) -> None:
        target = os.path.join(self.malformed_folder, name)
        try:
            os.replace(path, target)
        except OSError:
            target = "(could not be moved; deleted)"
            Path(path).unlink(missing_ok=True)
        # The file name holds only a time, a random id and the queue: nothing about a patient.
        log.error("embedded broker: malformed message %s set aside in %s; the outbox sweeper "
                  "sends its job again", name, target)

    def get_table(self, exchange: str) -> list[Any]:
        try:
            return super().get_table(exchange)
        except ValueError:
            # Another process is creating the table (kombu truncates before it locks).
            return []

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        try:
            super()._queue_bind(exchange, routing_key, pattern, queue)
        except ValueError:
            # The table was caught half-written by another process: write it again whole.
            entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
            table = self._exchange_file(exchange)
            staged = os.path.join(self.staging_folder, f"{uuid.uuid4()}.exchange")
            with open(staged, "wb") as f:
                f.write(str_to_bytes(dumps([entry])))
            os.replace(staged, table)


class Transport(filesystem.Transport):
    """kombu's filesystem transport with the channel above, and a consumer that sleeps until a
    put wakes it (or the polling interval passes) instead of sleeping the interval."""

    Channel = Channel
    global_state = virtual_base.BrokerState()

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self._listener: local_wake.Listener | None = None
        self._listening = False

    def _wake_listener(self) -> local_wake.Listener | None:
        """Opened by the first drain, so only consumers listen (a web process only puts)."""
        if not self._listening:
            self._listening = True
            folder = self.client.transport_options.get("wake_folder")
            if folder:
                self._listener = local_wake.Listener.open(Path(folder), _CONSUMER)
        return self._listener

    def drain_events(self, connection: Any, timeout: float | None = None) -> None:
        # kombu's loop (virtual.Transport.drain_events) with the sleep replaced by the wait. The
        # listener exists before the first look, so a put after that look is never missed.
        started = monotonic()
        listener = self._wake_listener()
        while True:
            try:
                self.cycle.get(self._deliver, timeout=timeout)
                return
            except filesystem.Empty:
                pause = self.polling_interval
                if timeout is not None:
                    left = timeout - (monotonic() - started)
                    if left <= 0:
                        raise TimeoutError from None  # what kombu raises: socket.timeout
                    pause = min(pause, left) if pause is not None else left
                if pause is None:
                    continue
                if listener is not None:
                    listener.wait(pause)
                else:
                    sleep(pause)

    def close_connection(self, connection: Any) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self._listening = False
        super().close_connection(connection)


def folders(options: dict[str, Any]) -> list[Path]:
    """Every folder the transport writes to, so they can be made before the first message."""
    keys = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder",
            "staging_folder", "malformed_folder", "wake_folder")
    return [Path(options[key]) for key in keys if key in options]
