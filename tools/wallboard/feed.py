"""The wallboard's Kafka side: one read_committed consumer thread feeding a ``Board``.

Why a thread: confluent-kafka's poll blocks, the web server is asyncio; the thread only holds
the lock while it adds a record, and bumps ``version`` so the event stream knows to push.
Topics that do not exist yet (the live ones, before a job with live metrics ran) are picked up
when they appear: metadata is refreshed every few seconds.
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Optional

import orjson

from tools.wallboard.model import Board

log = logging.getLogger("wallboard")


class Feed:
    """Consumes ``topics`` ({topic: record kind}) from the beginning into ``board``."""

    def __init__(self, bootstrap: str, topics: dict[str, str], board: Optional[Board] = None,
                 kafka_properties: Optional[dict] = None):
        self.bootstrap = bootstrap
        self.topics = topics
        self.board = board or Board()
        self.lock = threading.Lock()
        self.version = 0
        self.errors = 0
        self.kafka_properties = dict(kafka_properties or {})
        self._view: Optional[tuple[int, dict]] = None
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="wallboard-feed", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def view(self) -> tuple[int, dict]:
        """(version, view); computed once per version, however many pages are open."""
        with self.lock:
            if self._view is None or self._view[0] != self.version:
                self._view = (self.version, self.board.view())
            return self._view

    def _consumer(self):
        from confluent_kafka import Consumer

        return Consumer({
            "bootstrap.servers": self.bootstrap,
            "group.id": f"wallboard-{uuid.uuid4().hex[:12]}",
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            # the live topics may be created after the wallboard starts
            "topic.metadata.refresh.interval.ms": 3000,
            **self.kafka_properties,
        })

    def _run(self) -> None:
        consumer = self._consumer()
        consumer.subscribe(list(self.topics))
        try:
            while not self._stop.is_set():
                batch = consumer.consume(500, 0.2)
                changed = False
                for msg in batch:
                    if msg.error():
                        continue  # e.g. a topic not created yet: retried by the client
                    try:
                        record = orjson.loads(msg.value())
                        kind = self.topics[msg.topic()]
                        with self.lock:
                            changed |= self.board.add(kind, record)
                    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as err:
                        self.errors += 1
                        log.warning("skipping a record of %s at offset %s: %s", msg.topic(),
                                    msg.offset(), err)
                if changed:
                    with self.lock:
                        self.version += 1
        finally:
            consumer.close()
