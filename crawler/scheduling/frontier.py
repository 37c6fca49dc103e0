"""A crawl frontier shared through Redis that loses no request: scrapy-redis's scheduler, queue
and duplicate filter, made reliable.

scrapy-redis pops a request off the shared queue and forgets it; a worker killed with requests
in flight would lose them. Here a pop atomically moves the request into the worker's
*processing* hash (a Lua script), under a token carried in `request.meta`; the request leaves
that hash only when Scrapy has finished with it (callback and item pipelines done: the
scraper's `finish_response`) or when its successor — a retry or a redirect — is safely back in
the queue. Every worker keeps a heartbeat key alive; any worker finding a processing hash
whose owner's heartbeat has expired moves it back to the queue (again one Lua script, so two
reapers cannot both do it). Delivery is at least once; the store is idempotent, so a listing
fetched twice is still stored once.

Keys of crawl run R (all under `lijian:`):

    run:R:spec            the run's CrawlSpec as JSON (sites, categories, keywords, base_url, …)
    run:R:requests        scrapy-redis priority queue (sorted set of serialised requests)
    run:R:dupefilter      scrapy-redis duplicate filter (request fingerprints)
    run:R:workers         the workers that have worked on R
    run:R:processing:W    token -> serialised request, what worker W holds
    run:R:tokens          token counter
    runs                  the runs with work left (workers pick from it)
    worker:W              W's heartbeat (expires HEARTBEAT_TTL seconds after its last beat)
    wake                  a push here wakes idle workers
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
import warnings
from dataclasses import dataclass
from typing import Any

import redis
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured, ScrapyDeprecationWarning
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from crawler import signals as lijian_signals
from crawler.crawlspec import CrawlSpec, SpecError

logger = logging.getLogger(__name__)
# scrapy-redis 0.9.1 still calls Spider.log() and passes spider= to the stats: harmless on 2.19.
warnings.filterwarnings("ignore", category=ScrapyDeprecationWarning, module="scrapy_redis")

PREFIX = "lijian:"
HEARTBEAT_TTL = 10  # seconds without a beat before a worker counts as dead
BEAT_EVERY = 2.0
TOKEN = "lijian_token"
# Finished requests are released from this worker's held set in batches (one HDEL for up to
# this many), and at every heartbeat, idle check and close: a worker killed before a batch
# went out only costs those pages a second download, which the store takes as a repeat.
ACK_BATCH = 64

# Pop the best request and hold it for this worker, in one step: a kill between the two
# cannot lose it.
_POP = """
local item = redis.call('ZRANGE', KEYS[1], 0, 0)
if #item == 0 then return false end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
local token = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[2], token, item[1])
return {tostring(token), item[1]}
"""
# Put everything a (dead or stopping) worker holds back in the queue.
_REQUEUE = """
local held = redis.call('HVALS', KEYS[1])
for _, data in ipairs(held) do redis.call('ZADD', KEYS[2], 0, data) end
redis.call('DEL', KEYS[1])
return #held
"""
# Complete: nothing queued and nothing held by any worker of the run.
_COMPLETE = """
if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
for _, worker in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('HLEN', ARGV[1] .. worker) > 0 then return 0 end
end
return 1
"""


@dataclass(frozen=True)
class RunKeys:
    run_id: int

    def key(self, name: str) -> str:
        return f"{PREFIX}run:{self.run_id}:{name}"

    @property
    def requests(self) -> str:
        return self.key("requests")

    @property
    def dupefilter(self) -> str:
        return self.key("dupefilter")

    @property
    def spec(self) -> str:
        return self.key("spec")

    @property
    def workers(self) -> str:
        return self.key("workers")

    @property
    def tokens(self) -> str:
        return self.key("tokens")

    def processing(self, worker: str) -> str:
        return self.key(f"processing:{worker}")


RUNS = f"{PREFIX}runs"
WAKE = f"{PREFIX}wake"


def heartbeat_key(worker: str) -> str:
    return f"{PREFIX}worker:{worker}"


def connect(url: str) -> redis.Redis:
    """A client for `url`; FrontierError with the reason when Redis does not answer."""
    try:
        server = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30)
        server.ping()
    except (redis.RedisError, ValueError) as exc:
        raise FrontierError(f"Redis at {url} cannot be used: {exc}") from None
    return server


class FrontierError(RuntimeError):
    """Redis cannot be reached or holds no such run; the message says which."""


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class ReliableQueue(PriorityQueue):
    """scrapy-redis's priority queue, with pops held per worker until acknowledged."""

    worker: str = ""

    def __init__(self, server, spider, key, serializer=None) -> None:
        super().__init__(server, spider, key, serializer)
        self.keys = RunKeys(int(spider.crawler.settings.getint("LIJIAN_CRAWL_RUN_ID")))
        self.worker = spider.crawler.settings.get("LIJIAN_WORKER_ID")
        self.held = self.keys.processing(self.worker)
        self._pop = server.register_script(_POP)
        self._requeue = server.register_script(_REQUEUE)
        self._done: list[str] = []  # tokens of finished requests not yet released

    def push(self, request) -> None:
        # A request carrying our token is the successor of one we hold (a retry, a redirect):
        # once it is in the queue, the one we hold is done with.
        token = request.meta.pop(TOKEN, None)
        super().push(request)
        if token is not None:
            self.release(token)

    def pop(self, timeout=0):
        popped = self._pop(keys=[self.key, self.held, self.keys.tokens])
        if not popped:
            return None
        token, data = popped
        request = self._decode_request(data)
        request.meta[TOKEN] = token.decode() if isinstance(token, bytes) else str(token)
        return request

    def ack(self, request) -> None:
        token = request.meta.get(TOKEN)
        if token is not None:
            self.release(token)

    def release(self, token: str) -> None:
        self._done.append(token)
        if len(self._done) >= ACK_BATCH:
            self.flush()

    def flush(self) -> None:
        """Release the finished requests held so far, in one round trip."""
        if self._done:
            tokens, self._done = self._done, []
            self.server.hdel(self.held, *tokens)

    def requeue(self, worker: str) -> int:
        if worker == self.worker:
            self.flush()  # what is finished is not put back
        return int(self._requeue(keys=[self.keys.processing(worker), self.key]))

    def held_count(self) -> int:
        self.flush()
        return int(self.server.hlen(self.held))


class FrontierScheduler(Scheduler):
    """scrapy-redis's scheduler over one crawl run's keys, with heartbeats, reaping of dead
    workers' requests, acknowledgement when Scrapy is done with a request, and a spider that
    stays open until the whole run — every worker's share — is done."""

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        run_id = settings.getint("LIJIAN_CRAWL_RUN_ID")
        if not settings.get("REDIS_URL") or not run_id or not settings.get("LIJIAN_WORKER_ID"):
            raise NotConfigured("the frontier needs REDIS_URL, LIJIAN_CRAWL_RUN_ID and LIJIAN_WORKER_ID")
        keys = RunKeys(run_id)
        server = connect(settings.get("REDIS_URL"))
        scheduler = cls(server=server, persist=True, queue_key=keys.requests,
                        queue_cls="crawler.scheduling.frontier.ReliableQueue",
                        dupefilter=RFPDupeFilter(server, keys.dupefilter))
        scheduler.stats = crawler.stats
        scheduler.crawler = crawler
        scheduler.keys = keys
        scheduler.worker = settings.get("LIJIAN_WORKER_ID")
        scheduler.holding = True  # False once the database failed: finished requests stay held
        crawler.signals.connect(scheduler.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(scheduler.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(scheduler.database_lost, signal=lijian_signals.database_lost)
        crawler.signals.connect(scheduler.answer, signal=lijian_signals.frontier_wanted)
        return scheduler

    def database_lost(self, **_) -> None:
        """What is in flight now stays held, and goes back to the queue for another worker."""
        self.holding = False

    def answer(self, **_):
        return self

    def open(self, spider):
        self.beat()
        self.server.sadd(self.keys.workers, self.worker)
        super().open(spider)
        self._complete = self.server.register_script(_COMPLETE)
        self.beater = task.LoopingCall(self.tick)
        self.beater.start(BEAT_EVERY, now=False)

    def spider_opened(self, spider) -> None:
        # The scraper calls finish_response once a request's callback and item pipelines are
        # done (or its download failed for good): that is when the request is acknowledged.
        slot = self.crawler.engine.scraper.slot
        if slot is None:
            raise RuntimeError("the scraper has no slot: cannot acknowledge requests")
        finish = slot.finish_response

        def finish_and_ack(result, request):
            finish(result, request)
            if self.holding:
                self.queue.ack(request)

        slot.finish_response = finish_and_ack

    def enqueue_request(self, request):
        if not request.dont_filter and self.df.request_seen(request):
            # A duplicate successor (a redirect to a page already queued): the request it
            # came from is done with.
            if TOKEN in request.meta:
                self.queue.release(request.meta.pop(TOKEN))
            self.df.log(request, self.spider)
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        self.queue.push(request)
        return True

    def beat(self) -> None:
        self.server.set(heartbeat_key(self.worker), "1", ex=HEARTBEAT_TTL)

    def tick(self) -> None:
        try:
            self.beat()
            self.queue.flush()
            self.reap()
        except redis.RedisError as exc:
            logger.warning("frontier heartbeat failed: %s", exc)

    def reap(self) -> int:
        """Put back what dead workers of this run held; the number of requests re-queued."""
        moved = 0
        for member in self.server.smembers(self.keys.workers):
            worker = member.decode()
            if worker == self.worker or self.server.exists(heartbeat_key(worker)):
                continue
            count = self.queue.requeue(worker)
            self.server.srem(self.keys.workers, worker)
            if count:
                moved += count
                logger.warning("worker %s stopped beating: %d of its requests are back in the queue", worker, count)
        if moved:
            self.stats.inc_value("lijian/frontier/requeued", moved)
        return moved

    def complete(self) -> bool:
        self.queue.flush()
        self.reap()
        return bool(self._complete(keys=[self.keys.requests, self.keys.workers],
                                   args=[self.keys.key("processing:")]))

    def spider_idle(self, spider) -> None:
        leaked = self.queue.held_count() if self.holding else 0
        if leaked:  # nothing is in flight here, so nothing should be held: put it back
            logger.warning("%d requests held without being in flight: re-queued", leaked)
            self.stats.inc_value("lijian/frontier/leaked", leaked)
            self.queue.requeue(self.worker)
        if self.holding and not self.complete():
            raise DontCloseSpider  # other workers still hold requests that may add more

    def close(self, reason):
        try:
            self.beater.stop()
        except (AttributeError, AssertionError):
            pass
        try:
            back = self.queue.requeue(self.worker)  # anything not finished goes back for others
            if back:
                logger.warning("%d unfinished requests put back in the queue", back)
            self.server.srem(self.keys.workers, self.worker)
            # The heartbeat is left to expire: until the run recorder has written this worker's
            # part, others must not take it for a killed worker.
        except redis.RedisError as exc:
            logger.warning("frontier close: %s (the heartbeat will expire and others re-queue)", exc)


def frontier_settings(redis_url: str, run_id: int, worker: str) -> dict[str, Any]:
    """Scrapy settings that make a crawl one worker of run `run_id` in Redis."""
    return {
        "SCHEDULER": "crawler.scheduling.frontier.FrontierScheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "REDIS_URL": redis_url,
        "LIJIAN_CRAWL_RUN_ID": run_id,
        "LIJIAN_WORKER_ID": worker,
        "LIJIAN_FRONTIER": True,
    }


# -- runs: enqueue, pick, finish -------------------------------------------------------------
def enqueue_run(server: redis.Redis, run_id: int, spec: CrawlSpec) -> int:
    """Queue the seeds of crawl run `run_id` (search page 1 of every site and keyword) and
    make the run visible to workers; returns the number of seeds."""
    import asyncio

    from spiders.marketplace import MarketplaceSpider

    spider = MarketplaceSpider(spec=spec)
    keys = RunKeys(run_id)

    async def seeds() -> list:
        return [request async for request in spider.start()]

    requests = asyncio.run(seeds())
    queue = PriorityQueue(server, spider, keys.requests)
    dupes = RFPDupeFilter(server, keys.dupefilter)
    count = 0
    for request in requests:
        if not dupes.request_seen(request):
            queue.push(request)
            count += 1
    server.set(keys.spec, spec.model_dump_json())
    server.sadd(RUNS, run_id)
    server.lpush(WAKE, run_id)
    server.ltrim(WAKE, 0, 99)
    return count


def run_spec(server: redis.Redis, run_id: int) -> CrawlSpec:
    raw = server.get(RunKeys(run_id).spec)
    if raw is None:
        raise FrontierError(f"crawl run {run_id} has no spec in Redis (not enqueued, or already finished)")
    try:
        return CrawlSpec.of(json.loads(raw))
    except (ValueError, SpecError) as exc:
        raise FrontierError(f"crawl run {run_id} has a spec this version cannot read: {exc}") from None


def active_runs(server: redis.Redis) -> list[int]:
    return sorted(int(member) for member in server.smembers(RUNS))


def run_state(server: redis.Redis, run_id: int) -> dict[str, int]:
    keys = RunKeys(run_id)
    workers = [m.decode() for m in server.smembers(keys.workers)]
    return {"queued": int(server.zcard(keys.requests)),
            "held": sum(int(server.hlen(keys.processing(w))) for w in workers),
            "workers": len(workers), "seen": int(server.scard(keys.dupefilter))}


def retire_run(server: redis.Redis, run_id: int, keep_seconds: int = 86400) -> None:
    """The run is over: workers stop picking it; its keys expire after a day (for inspection)."""
    keys = RunKeys(run_id)
    server.srem(RUNS, run_id)
    for key in (keys.requests, keys.dupefilter, keys.spec, keys.workers, keys.tokens):
        server.expire(key, keep_seconds)


def cancel_run(server: redis.Redis, run_id: int) -> None:
    """Drop a run's queue now (an interrupted campaign run): workers close it at their next idle."""
    keys = RunKeys(run_id)
    server.delete(keys.requests)
    retire_run(server, run_id)
