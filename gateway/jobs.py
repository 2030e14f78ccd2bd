"""The gateway's background jobs, and the process that runs them beside `lig serve --workers N`.

The jobs: the audit sealer, the comparison of queued households with the escalation of overdue
warnings, and the webhook sender. Each is safe to run in many processes at once (the database
coordinates them: docs/deployment.md), so where they run is a question of speed only.

A single `lig serve` process runs them on its own event loop, beside its requests. With
`--workers N` they run in one process of their own, which `lig serve` starts before the workers,
restarts if it dies, and stops after them. The sealer hashes audit events by the thousand, and
on a serving worker's event loop that work made requests wait (measured on 100-ID eligibility
batches: the sealer off halved p99; bench/README.md, "Province scale").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
from multiprocessing.process import BaseProcess

from gateway.audit.sealer import run_sealer
from gateway.database import Database
from gateway.monitoring.worker import run_monitor
from gateway.settings import Settings, get_settings
from gateway.webhooks.sender import run_sender

log = logging.getLogger("lig.jobs")

# How long the jobs process has to finish its round after SIGTERM before it is killed, and how
# long `lig serve` waits before starting it again after it died.
STOP_SECONDS = 10.0
RESTART_SECONDS = 2.0


def start(db: Database, settings: Settings) -> list[asyncio.Task[None]]:
    """The jobs as tasks of the running event loop (each one loops until cancelled)."""
    tasks = [asyncio.create_task(run_sealer(db, settings.audit_seal_interval))]
    if settings.compare_interval_seconds > 0:
        tasks.append(asyncio.create_task(run_monitor(db, settings.compare_interval_seconds)))
    if settings.webhook_poll_seconds > 0:
        tasks.append(asyncio.create_task(run_sender(db, settings)))
    return tasks


async def stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _orphaned(parent: int, stopping: asyncio.Event) -> None:
    # `lig serve` killed outright cannot stop its jobs: they stop when it is gone.
    while os.getppid() == parent:
        await asyncio.sleep(1.0)
    stopping.set()


async def _run_until_stopped(parent: int) -> None:
    settings = get_settings()
    db = Database(settings)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    tasks = [*start(db, settings), asyncio.create_task(_orphaned(parent, stopping))]
    try:
        await stopping.wait()
    finally:
        await stop(tasks)
        await db.dispose()


def _process_main(parent: int) -> None:
    # Ctrl-C reaches the whole process group: `lig serve` stops the jobs (SIGTERM) once its
    # workers have stopped, so that they are not started again in between.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     [jobs] %(message)s")
    asyncio.run(_run_until_stopped(parent))


class JobsProcess:
    """The jobs' own process, kept running while `lig serve --workers N` serves."""

    def __init__(self) -> None:
        # spawn, as uvicorn starts its workers: a fresh interpreter, no state of this one's.
        self._context = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._lock = threading.Lock()  # spawning and stopping, never both at once
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="lig-jobs-watch", daemon=True)

    def start(self) -> None:
        self._spawn()
        self._watcher.start()

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            self._process = self._context.Process(
                target=_process_main, args=(os.getpid(),), name="lig-jobs"
            )
            self._process.start()
            log.info("background jobs in process %s", self._process.pid)

    def _watch(self) -> None:
        while not self._stopping.is_set():
            process = self._process
            if process is not None:
                process.join(timeout=1.0)
                if process.exitcode is not None and not self._stopping.is_set():
                    log.warning(
                        "the background jobs' process %s ended (exit %s); starting it again",
                        process.pid,
                        process.exitcode,
                    )
                    # Nothing is lost meanwhile: unsealed events, queued households and
                    # undelivered notices wait in the database for the next process.
                    if not self._stopping.wait(RESTART_SECONDS):
                        self._spawn()

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is None or process.exitcode is not None:
            return
        process.terminate()
        process.join(STOP_SECONDS)
        if process.exitcode is None:
            process.kill()
            process.join()
