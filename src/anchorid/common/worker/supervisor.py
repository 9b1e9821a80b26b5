"""The worker: one loop (``_run_job``) for every job of a party, one thread per job, and the heartbeat.

It replaces the loops each background task used to have (audit checkpoints, the lifecycle runner, the signing
archive renewal, the Shared Signals delivery threads) and the city's cron commands. A job's exception is logged
and recorded; it never ends the worker. :meth:`Worker.run` returns when ``stop`` is set, after the job threads
ended (or ``JOIN_SECONDS`` passed: a run that goes on keeps its lease until it expires).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from django.db import close_old_connections, connection
from django.utils import timezone

from anchorid.common import request_id
from anchorid.common.worker import conf, heartbeat, leases
from anchorid.common.worker.registry import Job, JobFailed, party_jobs

log = logging.getLogger(__name__)
JOIN_SECONDS = 10.0


class Worker:
    def __init__(self, party: str, jobs: list[Job] | None = None, instance: str | None = None) -> None:
        self.party = party
        self.jobs = party_jobs(party) if jobs is None else jobs
        self.instance = instance or heartbeat.instance_id()
        self.started_at: datetime = timezone.now()
        self._results: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def results(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: dict(result) for name, result in self._results.items()}

    def _record(self, job: Job, ok: bool, seconds: float, error: str = "") -> None:
        result: dict[str, Any] = {"status": "ok" if ok else "failed", "at": timezone.now().isoformat(),
                                  "seconds": round(seconds, 3)}  # fmt: skip
        if error:
            result["error"] = error.split(":", 1)[0]  # the exception's class: messages stay in the log
        with self._lock:
            previous = self._results.get(job.name, {})
            result["runs"] = int(previous.get("runs", 0)) + 1
            self._results[job.name] = result

    def run(self, stop: threading.Event) -> None:
        """Run every job until ``stop`` is set; beat every ``ANCHORID_WORKER_BEAT_SECONDS``."""
        threads = []
        for job in self.jobs:
            for index in range(max(1, job.threads)):
                name = f"job-{job.name}" + (f"-{index}" if job.threads > 1 else "")
                thread = threading.Thread(target=self._run_job, args=(job, stop), name=name, daemon=True)
                thread.start()
                threads.append(thread)
        log.info("worker %s: %s", self.party, ", ".join(job.name for job in self.jobs) or "no jobs")
        try:
            while not stop.is_set():
                try:
                    close_old_connections()
                    heartbeat.beat(self.instance, self.party, self.started_at, self.results())
                except Exception:
                    log.exception("worker heartbeat failed; trying again at the next beat")
                stop.wait(conf.beat_seconds())
        finally:
            stop.set()
            deadline = time.monotonic() + JOIN_SECONDS
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            try:
                heartbeat.stopped(self.instance, self.results())
            except Exception:
                log.exception("worker: could not record the stop")
            connection.close()

    def _run_job(self, job: Job, stop: threading.Event) -> None:
        owner = f"{self.instance}:{threading.current_thread().name}"[:128]
        try:
            if not job.leased:  # a leased job keeps its schedule in its row; the others start one interval in
                stop.wait(job.interval)
            while not stop.is_set():
                close_old_connections()
                started = time.monotonic()
                again = False
                with request_id.bound():  # each run logs under an id of its own
                    try:
                        if job.leased:
                            outcome = leases.run_if_due(job, owner)
                            if outcome is not None:
                                self._record(job, outcome.ok, time.monotonic() - started, outcome.error)
                            wait = min(job.interval, conf.poll_seconds())
                        else:
                            again = bool(job.work())
                            self._record(job, True, time.monotonic() - started)
                            wait = job.interval
                    except JobFailed as error:
                        log.warning("job %s failed; trying again shortly: %s", job.name, error)
                        self._record(job, False, time.monotonic() - started, leases.describe(error))
                        wait = max(job.interval, 1.0)
                    except Exception as error:
                        log.exception("job %s failed; trying again shortly", job.name)
                        self._record(job, False, time.monotonic() - started, leases.describe(error))
                        wait = max(job.interval, 1.0)
                if not again:
                    stop.wait(wait)
        finally:
            connection.close()
