"""Campaigns, leases, campaign runs, notifications and the scheduler, against the sandbox.

Scheduler tests start `lijian scheduler start --json` as real processes on a short interval
and wait on what they write (run records in the database, event lines in their logs), never
on the clock.
"""

from __future__ import annotations

import json
import os
import signal
import socketserver
import subprocess
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from crawler.campaigns import acquire_lease, parse_schedule, release_lease, run_campaign
from crawler.cli import cli
from crawler.config import load_config
from crawler.storage.models import Campaign, CrawlRun, EvidenceCapture, Lease, Suspect
from tests.conftest import LIJIAN, run_lijian

WAIT = float(os.environ.get("LIJIAN_TEST_WAIT", 240))  # an upper bound for slow machines, not a timing assertion


def invoke(db_url: str, *args: str):
    return CliRunner().invoke(cli, [*args, "--db", db_url])


def runs_of(sessions, name: str) -> list[CrawlRun]:
    with sessions() as session:
        campaign = session.scalar(select(Campaign).where(Campaign.name == name))
        if campaign is None:
            return []
        return list(session.scalars(select(CrawlRun).where(CrawlRun.campaign_id == campaign.id).order_by(CrawlRun.id)))


# -- definitions -------------------------------------------------------------------------------
@pytest.mark.parametrize("text, normal", [("0 3 * * *", "cron:0 3 * * *"), ("every 6h", "every:6h"), ("30m", "every:30m"),
                                          ("cron:*/15 * * * 1-5", "cron:*/15 * * * 1-5")])
def test_schedules_are_normalised(text, normal):
    assert parse_schedule(text) == normal


@pytest.mark.parametrize("args, message", [
    (["--schedule", "61 * * * *"], "is neither an interval (30m, 6h, 1d) nor a valid cron expression"),
    (["--schedule", "every 2s"], "an interval must be at least 5s"),
    (["--schedule", "1d", "--site", "nosuch"], "unknown site 'nosuch'"),
    (["--schedule", "1d", "--category", "toys"], "unknown category 'toys'"),
    (["--schedule", "1d", "--timezone", "Mars/Base"], "unknown timezone 'Mars/Base'"),
    (["--schedule", "1d", "--site", "a"], "the sandbox flavours need the sandbox's URL"),
    (["--schedule", "1d", "--evidence", "sometimes"], "evidence policy 'sometimes'"),
])
def test_bad_campaign_definitions_get_one_clear_line(db_url, args, message):
    base = ["campaign", "add", "c1", "--category", "cable", "--site", "jd"]
    result = invoke(db_url, *base, *args)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_campaign_lifecycle_from_the_cli(db_url, sessions):
    assert invoke(db_url, "campaign", "add", "cable-daily", "--schedule", "0 3 * * *", "--category", "cable",
                  "--site", "jd", "--site", "tmall", "--max-pages", "2").exit_code == 0
    again = invoke(db_url, "campaign", "add", "cable-daily", "--schedule", "1d", "--category", "cable", "--site", "jd")
    assert again.exit_code == 1 and "exists" in again.output
    shown = invoke(db_url, "campaign", "show", "cable-daily")
    assert "电线" in shown.output and "(the areas' defaults)" in shown.output and "cron '0 3 * * *'" in shown.output
    assert invoke(db_url, "campaign", "edit", "cable-daily", "--schedule", "12h", "--keyword", "BV电线").exit_code == 0
    assert invoke(db_url, "campaign", "pause", "cable-daily").exit_code == 0
    with sessions() as session:
        row = session.scalar(select(Campaign))
        assert (row.schedule, row.keywords, row.enabled, row.max_pages, row.profiles) == \
            ("every:12h", ["BV电线"], False, 2, ["jd", "tmall"])
    listing = invoke(db_url, "campaign", "list")
    assert "cable-daily" in listing.output and "paused" in listing.output
    assert invoke(db_url, "campaign", "resume", "cable-daily").exit_code == 0
    assert invoke(db_url, "campaign", "remove", "cable-daily").exit_code == 0
    missing = invoke(db_url, "campaign", "show", "cable-daily")
    assert missing.exit_code == 1 and "no campaign 'cable-daily'" in missing.output


def test_seeding_the_2018_work_plan_is_idempotent(db_url, sessions):
    first = invoke(db_url, "campaign", "seed", "lijian-2018")
    second = invoke(db_url, "campaign", "seed", "lijian-2018")
    assert first.exit_code == second.exit_code == 0 and second.output.count("exists, kept") == 5
    with sessions() as session:
        rows = {c.name: c for c in session.scalars(select(Campaign))}
    assert len(rows) == 5
    assert rows["lijian-2018-agri"].categories == ["fertilizer", "farm_machinery"]
    assert rows["lijian-2018-building"].categories == ["steel", "cable"]
    assert rows["lijian-2018-auto-fuel"].categories == ["auto_parts", "fuel"]
    assert rows["lijian-2018-children-appliances"].categories == ["children", "appliance"]
    assert len(rows["lijian-2018-ecommerce"].categories) == 9
    assert all(r.profiles == ["jd", "tmall", "taobao", "pinduoduo", "1688"] and r.timezone == "Asia/Shanghai"
               for r in rows.values())


# -- leases ------------------------------------------------------------------------------------
def test_a_lease_has_one_holder_until_released_or_expired(sessions):
    assert acquire_lease(sessions, "campaign:x", holder="a")
    assert not acquire_lease(sessions, "campaign:x", holder="b")
    assert acquire_lease(sessions, "campaign:x", holder="a")  # renewing one's own
    release_lease(sessions, "campaign:x", holder="a")
    assert acquire_lease(sessions, "campaign:x", holder="b")
    # A holder that died: its lease expires and another takes it.
    assert acquire_lease(sessions, "campaign:y", holder="dead", ttl=timedelta(seconds=-1))
    assert acquire_lease(sessions, "campaign:y", holder="alive")
    with sessions() as session:
        assert session.get(Lease, "campaign:y").holder == "alive"


def test_concurrent_acquirers_get_the_lease_once(sessions):
    winners = []
    barrier = threading.Barrier(8)

    def attempt(who: str) -> None:
        barrier.wait()
        if acquire_lease(sessions, "campaign:race", holder=who):
            winners.append(who)

    threads = [threading.Thread(target=attempt, args=(f"p{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1


# -- runs ---------------------------------------------------------------------------------------
def add_sandbox_campaign(db_url: str, sandbox_url: str, name: str, schedule: str = "1d", *extra: str) -> None:
    result = invoke(db_url, "campaign", "add", name, "--schedule", schedule, "--category", "cable",
                    "--site", "a", "--site", "b", "--sandbox", sandbox_url, "--evidence", "none", *extra)
    assert result.exit_code == 0, result.output


def test_a_campaign_run_crawls_matches_and_writes_the_digest(sandbox, db_url, sessions, tmp_path):
    add_sandbox_campaign(db_url, sandbox.url, "cable", "1d", "--evidence", "score>=0.8")
    result = run_lijian("campaign", "run", "cable", "--db", db_url, env={"LIJIAN_OUT": str(tmp_path / "out")})
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = runs_of(sessions, "cable")
    assert run.status == "finished" and run.trigger == "manual" and run.items_scraped > 0
    assert list(run.stages) == ["crawl", "match", "evidence", "digest"]
    assert all(stage["status"] == "finished" for stage in run.stages.values())
    assert run.stages["match"]["scored"] == run.items_scraped and run.suspects_new > 0
    assert Path(run.stages["digest"]["html"]).exists() and Path(run.log_path).exists()
    # Evidence: every suspect scoring 0.8 or more was captured during the run, and the digest links it.
    with sessions() as session:
        high = set(session.scalars(select(Suspect.id).where(Suspect.score >= 0.8)))
        captured = set(session.scalars(select(EvidenceCapture.suspect_id).where(EvidenceCapture.status == "ok")))
    assert high and captured == high and run.stages["evidence"]["captured"] == len(high)
    digest = Path(run.stages["digest"]["html"]).read_text(encoding="utf-8")
    assert digest.count("取证 #") == len(high) and 'href="file:///' in digest and '/evidence/blobs/' in digest
    shown = run_lijian("runs", "show", str(run.id), "--db", db_url)
    assert "match   finished" in shown.stdout and "Spider closed (finished)" in shown.stdout
    listed = run_lijian("runs", "--campaign", "cable", "--db", db_url)
    assert "cable" in listed.stdout and "finished" in listed.stdout
    # Nobody holds the campaign's lease afterwards.
    with sessions() as session:
        assert session.get(Lease, "campaign:cable") is None


def test_a_campaign_already_running_is_not_run_twice(sandbox, db_url, sessions, tmp_path):
    add_sandbox_campaign(db_url, sandbox.url, "cable")
    assert acquire_lease(sessions, "campaign:cable", holder="other-host:123")
    result = run_lijian("campaign", "run", "cable", "--db", db_url)
    assert result.returncode == 1 and "not run, already running (held by other-host:123)" in result.stderr
    assert runs_of(sessions, "cable") == []


class Receiver(BaseHTTPRequestHandler):
    bodies: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        length = int(self.headers["Content-Length"])
        Receiver.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class MailHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive one message on loopback."""

    messages: list[str] = []

    def handle(self):
        self.wfile.write(b"220 test\r\n")
        data, in_data = [], False
        for raw in self.rfile:
            line = raw.decode("utf-8", "replace")
            if in_data:
                if line.rstrip("\r\n") == ".":
                    in_data = False
                    MailHandler.messages.append("".join(data))
                    self.wfile.write(b"250 queued\r\n")
                else:
                    data.append(line)
                continue
            command = line[:4].upper()
            if command == "EHLO":
                self.wfile.write(b"250 test\r\n")
            elif command == "DATA":
                in_data = True
                self.wfile.write(b"354 go on\r\n")
            elif command == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


def test_runs_with_many_suspects_or_failures_are_notified_by_webhook_and_mail(sandbox, db_url, sessions, tmp_path):
    web = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    mail = socketserver.ThreadingTCPServer(("127.0.0.1", 0), MailHandler)
    for server in (web, mail):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    Receiver.bodies.clear()
    MailHandler.messages.clear()
    try:
        add_sandbox_campaign(db_url, sandbox.url, "cable", "1d", "--notify-threshold", "1")
        add_sandbox_campaign(db_url, "http://127.0.0.1:9", "unreachable")  # nothing listens there
        config = load_config(database_url=db_url, out_dir=str(tmp_path / "out"),
                             notify_webhook=f"http://127.0.0.1:{web.server_address[1]}/hook",
                             smtp_url=f"smtp://127.0.0.1:{mail.server_address[1]}", notify_email="analyst@example.cn")
        good = run_campaign(config, sessions, "cable")
        bad = run_campaign(config, sessions, "unreachable")
    finally:
        web.shutdown()
        mail.shutdown()
    assert good.status == "finished" and good.suspects_new >= 1
    assert bad.status == "failed" and "no page could be downloaded" in (runs_of(sessions, "unreachable")[0].error_text)
    assert [b["campaign"] for b in Receiver.bodies] == ["cable", "unreachable"]
    assert Receiver.bodies[0]["suspects_new"] == good.suspects_new and Receiver.bodies[1]["status"] == "failed"
    assert len(MailHandler.messages) == 2 and "analyst@example.cn" in MailHandler.messages[0]
    assert "Subject: =?utf-8?" in MailHandler.messages[0]  # the Chinese subject, encoded


# -- the scheduler --------------------------------------------------------------------------------
class Scheduler:
    """`lijian scheduler start --json` as a process; its event lines collected as they come."""

    def __init__(self, db_url: str, out: Path, *extra: str) -> None:
        env = {**os.environ, "LIJIAN_OUT": str(out)}
        self.process = subprocess.Popen([*LIJIAN, "scheduler", "start", "--json", "--sync-every", "0.5",
                                         "--db", db_url, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env=env)
        self.events: list[dict] = []
        self.changed = threading.Condition()  # notified at every event line and when the output ends
        self.ended = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            with self.changed:
                self.events.append(event)
                self.changed.notify_all()
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    def saw(self, event: str, **fields) -> dict | None:
        return next((e for e in list(self.events) if e["event"] == event
                     and all(e.get(k) == v for k, v in fields.items())), None)

    def count(self, event: str, **fields) -> int:
        return sum(1 for e in list(self.events) if e["event"] == event and all(e.get(k) == v for k, v in fields.items()))

    def wait(self, condition, what: str, timeout: float = WAIT):
        """Block until `condition()` holds, woken by each event the scheduler prints (no polling);
        fail naming `what` when it ends its output or after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not (value := condition()):
                remaining = deadline - time.monotonic()
                if self.ended or remaining <= 0:
                    raise AssertionError(f"gave up waiting for {what}; last events {self.events[-3:]}; "
                                         f"{'output ended' if self.ended else 'timed out'}")
                self.changed.wait(remaining)
            return value

    def stop(self, sig=signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(timeout=WAIT)
        self.reader.join(timeout=10)
        return code


def test_scheduler_runs_persists_pauses_and_survives_a_failing_campaign(sandbox, db_url, sessions, tmp_path):
    add_sandbox_campaign(db_url, sandbox.url, "cable", "5s")
    add_sandbox_campaign(db_url, "http://127.0.0.1:9", "broken", "5s")
    first = Scheduler(db_url, tmp_path / "out")
    try:
        first.wait(lambda: first.count("run_finished", campaign="cable", status="finished") >= 2, "two runs")
        first.wait(lambda: first.count("run_finished", campaign="broken", status="failed") >= 2,
                   "the broken campaign failing twice while the scheduler goes on")
    finally:
        assert first.stop() == 0
    assert first.saw("scheduler_stopped") and first.saw("job_added", campaign="cable")
    with sessions() as session:  # the jobs are in the database, with their next run times
        stored = dict(session.execute(text("select id, next_run_time from apscheduler_jobs")).all())
    assert set(stored) == {"campaign:cable", "campaign:broken"} and all(stored.values())

    # Restarted: the jobs come from the database (not added again) and keep running.
    done = len(runs_of(sessions, "cable"))
    second = Scheduler(db_url, tmp_path / "out")
    try:
        second.wait(lambda: second.saw("scheduler_started"), "the second start")
        assert second.saw("scheduler_started")["jobs"] == 2
        second.wait(lambda: second.saw("run_finished", campaign="cable"), "a run after the restart")
        assert len(runs_of(sessions, "cable")) > done
        assert not second.saw("job_added", campaign="cable")
        # Pause: the job goes; resume: it comes back and runs again.
        assert invoke(db_url, "campaign", "pause", "cable").exit_code == 0
        second.wait(lambda: second.saw("job_removed", campaign="cable"), "the paused job removed")
        assert invoke(db_url, "campaign", "resume", "cable").exit_code == 0
        second.wait(lambda: second.saw("job_added", campaign="cable"), "the resumed job added")
        paused_at = len(runs_of(sessions, "cable"))
        started = second.count("run_started", campaign="cable")
        second.wait(lambda: second.count("run_started", campaign="cable") > started, "a run after resume")
        assert len(runs_of(sessions, "cable")) > paused_at
        status = run_lijian("scheduler", "status", "--db", db_url)
        assert status.returncode == 0 and "cable" in status.stdout and "every 5s" in status.stdout
    finally:
        assert second.stop() == 0
    runs = runs_of(sessions, "cable") + runs_of(sessions, "broken")
    assert all(r.status in ("finished", "failed", "interrupted") for r in runs)  # none left "running"
    assert all(r.trigger == "schedule" for r in runs)


def test_two_schedulers_never_run_the_same_campaign_twice_at_once(db_url, sessions, tmp_path):
    from tests.conftest import start_sandbox, stop_sandbox

    # Runs slower than the 5 s interval (every page delayed): the second scheduler comes due
    # while the first one's run is still going, and must not start another.
    slow = start_sandbox("--faults", "slow", "--fault-rate", "1.0")
    add_sandbox_campaign(db_url, slow.url, "cable", "5s")
    one, two = Scheduler(db_url, tmp_path / "out1"), Scheduler(db_url, tmp_path / "out2")
    try:
        skipping = threading.Condition()  # either scheduler's reader wakes the waits below
        one.changed = two.changed = skipping
        one.wait(lambda: one.saw("run_skipped") or two.saw("run_skipped"),
                 f"one scheduler skipping a held run (alive {one.process.poll() is None} {two.process.poll() is None})")
        one.wait(lambda: one.count("run_finished", campaign="cable") + two.count("run_finished", campaign="cable") >= 2,
                 "two runs")
    finally:
        codes = one.stop(), two.stop()
        stop_sandbox(slow)
    assert codes == (0, 0)
    skipped = one.saw("run_skipped") or two.saw("run_skipped")
    assert "already running (held by" in skipped["reason"]
    spans = sorted((r.started_at, r.finished_at) for r in runs_of(sessions, "cable") if r.finished_at)
    assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:]))  # never overlapping


def test_sigterm_during_a_crawl_marks_the_run_interrupted(db_url, sessions, tmp_path):
    from tests.conftest import start_sandbox, stop_sandbox

    slow = start_sandbox("--faults", "slow", "--fault-rate", "1.0")
    try:
        add_sandbox_campaign(db_url, slow.url, "cable", "5s")
        scheduler = Scheduler(db_url, tmp_path / "out")
        scheduler.wait(lambda: scheduler.saw("stage_started", stage="crawl"), "a crawl starting")
        code = scheduler.stop(signal.SIGTERM)
    finally:
        stop_sandbox(slow)
    assert code == 0 and scheduler.saw("stop_requested", signal="SIGTERM")
    (run,) = runs_of(sessions, "cable")
    assert run.status == "interrupted" and run.finished_at is not None
    assert run.stages["crawl"]["status"] == "interrupted"
    with sessions() as session:
        assert session.get(Lease, "campaign:cable") is None


def test_a_machine_that_was_off_does_not_replay_missed_runs(sandbox, db_url, sessions, tmp_path):
    from datetime import datetime, timezone

    from crawler.clock import beijing
    from crawler.scheduling.scheduler import job_store

    # Nightly at an hour three hours ago, Beijing time: its latest time is well past the grace
    # (a fixed hour failed the test for the hour after it, when the last night was still in grace).
    hour = (beijing(datetime.now(timezone.utc)) - timedelta(hours=3)).hour
    add_sandbox_campaign(db_url, sandbox.url, "nightly", f"0 {hour} * * *")
    first = Scheduler(db_url, tmp_path / "out", "--misfire-grace", "600")
    try:
        first.wait(lambda: first.saw("job_added", campaign="nightly"), "the job stored")
    finally:
        assert first.stop() == 0
    # The machine was off for three days: the stored next run time is three nights ago.
    store = job_store(db_url)
    store.start(None, "default")
    job = store.lookup_job("campaign:nightly")
    job.next_run_time = datetime.now(timezone.utc) - timedelta(days=3)
    store.update_job(job)
    store.shutdown()
    second = Scheduler(db_url, tmp_path / "out", "--misfire-grace", "600")
    try:
        second.wait(lambda: second.saw("run_missed", campaign="nightly"), "the missed night reported")
    finally:
        assert second.stop() == 0
    # Coalesced: the three missed nights are one missed run, and none of them is replayed.
    assert len([e for e in second.events if e["event"] == "run_missed"]) == 1
    assert not second.saw("run_started") and runs_of(sessions, "nightly") == []
