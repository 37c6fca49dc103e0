"""The crawl's store process: listings written in batches, one transaction each, in a process
of its own beside the crawl.

    python -m crawler.storage.writer      (started by crawler.pipelines.store; the database URL
                                           in LIJIAN_DATABASE_URL, where a password does not
                                           show in `ps`)

Why a process and not a thread: the crawl's reactor thread is busy all the time, and a writer
thread gives up and takes back the interpreter lock around every SQLite or PostgreSQL call —
about 55,000 hand-overs in a 3,000-listing crawl, each one stopping the reactor. Measured on
that crawl (docs/BENCHMARKS.md): storing cost 6 s of a 17 s crawl that way, of which the
writer's own work was 1 s. Here the writes take a core of their own and the reactor only
pickles each item onto a pipe.

The protocol, both ways frames of a 4-byte big-endian length and a pickle (parent and child are
the same program, the pipe is theirs alone):
- stdin: one frame per job, `(job_id, crawl_run_id, item)`; end of input: finish what was
  sent, stop.
- stdout: after each transaction, a list of `(job_id, outcome)`: ("ok", SaveOutcome or seller
  id) or ("error", gone, reason), gone meaning the database is unreachable rather than the
  statement bad; the last frame is ("closed", batches).

A batch is acknowledged only after its commit, so the crawl (and a shared frontier) finishes
with a request only once what it yielded is stored. The process dies with the crawl (Linux:
PR_SET_PDEATHSIG; elsewhere at the end of its input): a transaction it had not committed is
rolled back by the database, and nothing it was handed was acknowledged. It ignores SIGINT
and SIGTERM: sent to the process group (Ctrl-C, a service manager), they stop the crawl
gracefully, and the crawl's last listings are still stored before the input ends.
"""

from __future__ import annotations

import os
import pickle
import queue
import signal
import struct
import sys
import threading
from typing import IO, Any

BATCH = 64  # listings per transaction at most
TRIES = 3  # a batch that meets a deadlock or a serialization failure is tried again
HEADER = struct.Struct(">I")


def frame(payload: Any) -> bytes:
    body = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


def read_frame(stream: IO[bytes]) -> Any:
    """The next frame's payload, or None at the end of the stream."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    body = stream.read(size)
    if len(body) < size:
        return None
    return pickle.loads(body)


def lock_order(job: tuple) -> tuple[str, str, str]:
    item = job[2]
    return (getattr(item, "marketplace", "") or "", getattr(item, "seller_key", "") or "",
            getattr(item, "listing_key", "") or "")


def gone(exc: Exception, disconnects: tuple[type, ...]) -> bool:
    """The server is gone (not a bad statement, not a deadlock another try gets past)."""
    if transient(exc):
        return False
    return bool(getattr(exc, "connection_invalidated", False)) or isinstance(getattr(exc, "orig", None), disconnects)


def transient(exc: Exception) -> bool:
    """PostgreSQL's deadlock_detected (40P01) and serialization_failure (40001), SQLite's busy."""
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code in ("40P01", "40001") or "database is locked" in str(exc)


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def disconnects() -> tuple[type, ...]:
    """The driver errors that mean the server is gone (not a bad statement)."""
    import sqlite3

    kinds: list[type] = [sqlite3.OperationalError]  # "unable to open database file", "disk I/O error"
    psycopg = sys.modules.get("psycopg")  # only a PostgreSQL engine has imported it
    if psycopg is not None:
        kinds.append(psycopg.OperationalError)
    return tuple(kinds)


class Batches:
    """Jobs written a batch per transaction; `settle(job_id, outcome)` is called for each job once
    its transaction is committed (or has failed for good)."""

    def __init__(self, store, settle) -> None:
        self.store, self.settle = store, settle
        self.batches = 0

    def write(self, batch: list[tuple[int, int | None, object]]) -> None:
        self.batches += 1
        by_run: dict[int | None, list] = {}
        for job in batch:
            by_run.setdefault(job[1], []).append(job)
        for run_id, jobs in by_run.items():
            # Rows are locked in one order by every writer (sellers, then listings, by key), so
            # two crawl processes storing overlapping batches wait for each other, never deadlock.
            jobs.sort(key=lock_order)
            for attempt in range(TRIES):
                try:
                    outcomes = self.store.save_many([item for _, _, item in jobs], run_id)
                except Exception as exc:  # noqa: BLE001 - reported to each listing's coroutine
                    lost = gone(exc, disconnects())
                    if lost or (len(jobs) == 1 and (attempt == TRIES - 1 or not transient(exc))):
                        for job_id, _, _ in jobs:
                            self.settle(job_id, ("error", lost, first_line(exc)))
                        break
                    if len(jobs) > 1 and not transient(exc):
                        for job in jobs:  # one bad listing must not cost the others their place
                            self.write([job])
                        break
                    continue  # a deadlock or serialization failure: the same batch again
                for (job_id, _, _), outcome in zip(jobs, outcomes):
                    self.settle(job_id, ("ok", outcome))
                break
            else:  # a batch deadlocked every time: its listings one by one (each tried again too)
                for job in jobs:
                    self.write([job])


def _die_with_parent() -> None:
    """Linux: this process is killed when the crawl that started it dies, even by SIGKILL."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the call
        os._exit(1)


def serve(jobs_in: IO[bytes], results_out: IO[bytes], database_url: str) -> int:
    """Read jobs from `jobs_in` until its end, store them, report to `results_out`."""
    from crawler.storage.db import make_engine, session_factory
    from crawler.storage.listings import ListingStore

    # The crawl has brought the schema to head (or stopped) before starting this process.
    store = ListingStore(session_factory(make_engine(database_url)))
    waiting: queue.SimpleQueue[tuple | None] = queue.SimpleQueue()

    def receive() -> None:  # frames are read while a batch is written
        try:
            while (job := read_frame(jobs_in)) is not None:
                waiting.put(job)
        finally:
            waiting.put(None)

    threading.Thread(target=receive, name="lijian-store-input", daemon=True).start()
    settled: list[tuple[int, tuple]] = []
    batches = Batches(store, lambda job_id, outcome: settled.append((job_id, outcome)))
    ended = False
    while not ended:
        job = waiting.get()
        if job is None:
            break
        batch = [job]
        while len(batch) < BATCH:
            try:
                more = waiting.get_nowait()
            except queue.Empty:
                break
            if more is None:
                ended = True
                break
            batch.append(more)
        batches.write(batch)
        results_out.write(frame(settled))
        results_out.flush()
        settled = []
    results_out.write(frame([(None, ("closed", batches.batches))]))
    results_out.flush()
    return 0


def main() -> int:
    _die_with_parent()
    # Ctrl-C and a service manager's SIGTERM reach the whole process group; the crawl stops
    # gracefully on them and still needs this process to store what it finishes with. It ends
    # when the crawl closes its input (or dies).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Results go on a private copy of stdout; anything else printing goes to stderr.
    results = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    url = os.environ.get("LIJIAN_DATABASE_URL")
    if not url:
        print("error: LIJIAN_DATABASE_URL is not set", file=sys.stderr)
        return 2
    try:
        return serve(sys.stdin.buffer, results, url)
    except BrokenPipeError:  # the crawl is gone
        return 1


if __name__ == "__main__":
    sys.exit(main())
