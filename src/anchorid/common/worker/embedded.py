"""The worker inside ``anchorid serve PARTY`` (the embedded default): a child process, supervised.

The child is spawned (not forked) before Granian starts: Granian forks its workers from the serving process, and
forking while job threads hold a lock (SQLite's, logging's, an import lock) would leave a server worker that
waits forever on its first request. A monitor thread in the serving process waits on the child; when the child
dies (killed, crashed) it starts a new one after a backoff (1 s, doubling up to ``MAX_BACKOFF``; back to 1 s
once a child has lived ``STABLE_SECONDS``). On shutdown (Ctrl-C, SIGTERM: Granian returns from ``serve``) the
serving process stops the monitor, then ends the child (SIGTERM, then SIGKILL after ``STOP_SECONDS``). The child
ignores SIGINT (a terminal's Ctrl-C reaches the whole group; the serving process decides), stops on SIGTERM, and
stops by itself when the serving process is gone (killed by SIGKILL: it is then an orphan).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess

log = logging.getLogger(__name__)
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 60.0
STABLE_SECONDS = 60.0
STOP_SECONDS = 15.0


def child_main(party: str, parent: int) -> None:
    """In the spawned child: the party's settings and data folder come with the environment ``prepare_party``
    set."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    import django

    django.setup()
    from anchorid.common.worker.supervisor import Worker

    watcher = threading.Thread(target=_watch_parent, args=(parent, stop), name="parent-watch", daemon=True)
    watcher.start()
    Worker(party).run(stop)


def _watch_parent(parent: int, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        if os.getppid() != parent:
            stop.set()


class EmbeddedWorker:
    """Starts the child and keeps one running until :meth:`stop`. ``shutting_down`` tells the monitor the server
    is stopping (a child that died from the same signal is not restarted)."""

    def __init__(self, party: str, shutting_down: Callable[[], bool] = lambda: False) -> None:
        self.party = party
        self.shutting_down = shutting_down
        self.restarts = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._child: BaseProcess | None = None
        self._monitor: threading.Thread | None = None

    @property
    def child(self) -> BaseProcess | None:
        return self._child

    def _spawn(self) -> BaseProcess:
        child = multiprocessing.get_context("spawn").Process(
            target=child_main, args=(self.party, os.getpid()), name=f"anchorid-{self.party}-worker", daemon=True
        )
        child.start()
        return child

    def start(self) -> None:
        self._child = self._spawn()
        self._monitor = threading.Thread(target=self._watch, name="worker-monitor", daemon=True)
        self._monitor.start()

    def _watch(self) -> None:
        backoff = FIRST_BACKOFF
        while not self._stop.is_set():
            child = self._child
            assert child is not None
            born = time.monotonic()
            child.join()  # waits on the child without holding any lock of this process
            if self._stop.is_set() or self.shutting_down():
                return
            if time.monotonic() - born >= STABLE_SECONDS:
                backoff = FIRST_BACKOFF
            log.warning("the %s worker (pid %s) ended with %s; restarting it in %.0f s", self.party, child.pid,
                        child.exitcode, backoff)  # fmt: skip
            if self._stop.wait(backoff) or self.shutting_down():
                return
            backoff = min(backoff * 2, MAX_BACKOFF)
            with self._lock:
                if self._stop.is_set():
                    return
                self._child = self._spawn()
                self.restarts += 1

    def stop(self) -> None:
        with self._lock:
            self._stop.set()
        child = self._child
        if child is not None and child.is_alive():
            child.terminate()
            child.join(STOP_SECONDS)
            if child.is_alive():
                child.kill()
                child.join(5)
        if self._monitor is not None:
            self._monitor.join(5)
