"""`pesquisa run`: one cron job per enabled source, a queue worker, and the web app.

Each crawl runs in a subprocess because Twisted's reactor cannot be restarted in a process.
The worker drains the queue through NLP and indexing; the web app serves the same data.
Ctrl-C (SIGINT) or SIGTERM stops the web server, then the scheduler, crawls and worker.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from pesquisa.errors import PesquisaError
from pesquisa.lima import LIMA
from pesquisa.logs import log_traceback
from pesquisa.settings import Settings
from pesquisa.sources import Source
from pesquisa.store import Store, now_iso
from pesquisa.worker import Worker

log = logging.getLogger(__name__)
CHILD_STOP_SECONDS = 20


def crawl_command(sources: list[str]) -> list[str]:
    return [sys.executable, "-m", "pesquisa", "crawl", *sources]


class Monitor:
    """Owns the scheduler, the crawl subprocesses and the worker thread."""

    def __init__(self, settings: Settings, sources: list[Source]) -> None:
        self.settings = settings
        self.sources = [s for s in sources if s.enabled]
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.children: set[subprocess.Popen[bytes]] = set()
        self.children_lock = threading.Lock()
        self.scheduler = BackgroundScheduler(timezone=LIMA)
        self.worker_thread = threading.Thread(target=self._work, name="worker", daemon=True)

    def crawl(self, source_id: str) -> int:
        """Run one source's crawl in a subprocess and wait for it; returns its exit code."""
        if self.stop.is_set():
            return -1
        env = {**os.environ, **self.settings.to_env()}
        started = now_iso()
        child = subprocess.Popen(
            crawl_command([source_id]), env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # its table; the run's counts are in the store
            # Its own session: a Ctrl-C in the terminal reaches only us, and we ask each
            # crawl to stop once. Scrapy takes a second SIGINT as "stop uncleanly now".
            start_new_session=True,
        )
        with self.children_lock:
            self.children.add(child)
        try:
            code = child.wait()
        finally:
            with self.children_lock:
                self.children.discard(child)
        if self.stop.is_set():
            return code
        if code != 0:
            log.warning("crawl of %s exited with code %s", source_id, code)
        self._report(source_id, started)
        self.wake.set()
        return code

    def _report(self, source_id: str, started: str) -> None:
        with Store(self.settings.store_path) as store:
            run = store.last_run_since(source_id, started)
        if run is None:
            return
        last = f"; last error: {run['last_error']}" if run["last_error"] else ""
        log.info("crawled %s: %d fetched, %d new, %d updated, %d seen, %d failed%s", source_id,
                 run["fetched"], run["new"], run["updated"], run["seen"], run["failures"], last)

    def _work(self) -> None:
        worker: Worker | None = None
        try:
            while not self.stop.is_set():
                try:
                    worker = worker or Worker(self.settings)
                    done = worker.run_once(self.stop)
                    if done.annotated or done.indexed or done.failed:
                        log.info("processed: %d annotated, %d indexed, %d set aside",
                                 done.annotated, done.indexed, done.failed)
                except PesquisaError as exc:  # the index is down, say: nothing is lost
                    log.warning("worker: %s; retrying in %ss", exc.message,
                                self.settings.worker.interval)
                except Exception as exc:  # keep monitoring; the log file has the traceback
                    log.warning("worker failed (%s: %s); retrying in %ss", type(exc).__name__,
                                exc, self.settings.worker.interval)
                    log_traceback(log, "worker failure")
                self.wake.wait(self.settings.worker.interval)
                self.wake.clear()
        finally:
            if worker is not None:
                worker.close()

    def schedule(self) -> None:
        start = datetime.now(LIMA)
        for number, source in enumerate(self.sources):
            extra: dict[str, datetime] = {}
            if self.settings.crawl.crawl_on_start:  # stagger the start-up crawls
                extra["next_run_time"] = start + timedelta(seconds=2 + 5 * number)
            self.scheduler.add_job(
                self.crawl, source.trigger(), args=[source.id], id=f"crawl:{source.id}",
                name=f"crawl {source.id}", max_instances=1, coalesce=True,
                misfire_grace_time=600, **extra,
            )

    def start(self) -> None:
        self.schedule()
        self.scheduler.start()
        self.worker_thread.start()
        log.info("monitoring %d sources", len(self.sources))

    def shutdown(self) -> None:
        if not self.scheduler.running:  # never started: nothing to stop
            return
        self.stop.set()
        self.wake.set()
        self.scheduler.shutdown(wait=False)
        with self.children_lock:
            children = list(self.children)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)  # Scrapy shuts down cleanly on SIGINT
        for child in children:
            try:
                child.wait(CHILD_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self.worker_thread.join(CHILD_STOP_SECONDS)
        log.info("stopped")
