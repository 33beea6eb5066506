"""Hostile traffic against `lookout up`: valid events mixed with what any browser holding the
public write key can send, at the key's rate limit.

One stack, two phases of the same valid traffic (a share of the write key's rate limit):
  clean    valid batches only
  hostile  the same valid batches, some carrying hostile items, plus hostile requests filling
           the rest of the key's rate: lone surrogates, NaN and Infinity, deep nesting, huge
           integers, over-long keys and fields, too many properties, ancient and far-future
           timestamps, 30 KB strings that make a naive e-mail regex backtrack, bad JSON and
           bad UTF-8, oversized batches, a gzip bomb, an over-long X-Request-Id
Prints per phase the aggregator lag (ingest's answer → the event's id in Postgres, p50/p99)
and ingest's peak RSS, with the hostile/clean ratios (targets: lag p99 at most 1.5 times clean, RSS
bounded); how ingest answered each kind of hostile input (never 5xx) and how long it took;
and checks that every valid event, and every hostile item ingest accepted, is counted exactly
once (Postgres and the dashboard's event counts) and that nothing it refused was stored.
Exits 1 when a correctness check fails (a 5xx, a lost or doubled event, a crashed service).

Usage: .venv/bin/python bench/hostile.py [--seconds 300] [--clean-seconds N]
         [--valid-share 0.5] [--data-dir DIR]
`lookout up` runs with its defaults (embedded Postgres and Tansu unless LOOKOUT_DATABASE_URL /
LOOKOUT_KAFKA_BOOTSTRAP are set); the key's limits are read from the same environment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from _stack import clock, percentile
from ingest import segment_events

from lookout_common.infra.settings import IngestSettings

VALID_BATCH = 25
MIXED_ITEMS = 2  # hostile items inside each valid batch of the hostile phase
HOSTILE_BATCH = 10  # hostile items per hostile /v1/batch request
MAX_BATCH_ITEMS = 2500  # ingest's cap: a longer batch is refused before it is charged
IN_FLIGHT = 24
ANSWER_TIMEOUT_S = 30.0
GRACE_S = 60.0  # after the last phase, how long retries and the aggregator may catch up
LAG_POLL_S = 0.05
MAX_ATTEMPTS = 8


# --- what is sent -----------------------------------------------------------------------------


def _message(event: str, properties: object, **fields: object) -> dict:
    message = {
        "type": "track",
        "event": event,
        "messageId": uuid.uuid4().hex,
        "anonymousId": f"hostile-{random.randint(1, 500)}",
        "timestamp": datetime.now(UTC).isoformat(),
        "properties": properties,
    }
    message.update(fields)
    return message


def _nested(depth: int) -> dict:
    value: object = 0
    for _ in range(depth):
        value = {"a": value}
    return value  # type: ignore[return-value]


REDOS_EMAIL = "a@" + "a." * 15_000 + "1"  # 30 KB: backtracks a naive e-mail pattern

# Hostile items: name → (ingest must accept it, builder). A builder returns a message, or
# JSON text that is no message at all. Accepted ones are valid events that are only expensive
# or odd; the others must each get a 400 item error.
ITEM_KINDS: dict[str, tuple[bool, Callable[[], dict | str]]] = {
    "lone surrogate": (False, lambda: _message("search_performed", {"query": "\ud800"})),
    "NaN": (False, lambda: _message("bench_hostile", {"v": float("nan")})),
    "-Infinity": (False, lambda: _message("bench_hostile", {"v": float("-inf")})),
    "integer 2^64": (False, lambda: _message("bench_hostile", {"v": 2**64})),
    "nesting 40": (False, lambda: _message("bench_hostile", _nested(40))),
    "key of 2,000 chars": (False, lambda: _message("bench_hostile", {"k" * 2000: 1})),
    "2,000 properties": (
        False,
        lambda: _message("bench_hostile", {f"p{index}": 0 for index in range(2000)}),
    ),
    "path of 5,000 chars": (
        False,
        lambda: {**_message("page_view", {"path": "/" + "x" * 5000}), "type": "page"},
    ),
    "timestamp 0001-01-01": (
        False,
        lambda: _message("bench_hostile", {}, timestamp="0001-01-01T00:30:00+01:00"),
    ),
    "timestamp 2000-01-01": (
        False,
        lambda: _message("bench_hostile", {}, timestamp="2000-01-01T00:00:00Z"),
    ),
    "not an object": (False, lambda: random.choice(["0", '"x"', "null", "[]"])),
    # Under the 16,384-character string limit: accepted, so the PII scrubber reads all of it.
    "e-mail regex bait 16 KB": (
        True,
        lambda: _message("bench_note", {"note": REDOS_EMAIL[:15_999] + "1"}),
    ),
    "e-mail regex bait 30 KB": (False, lambda: _message("bench_note", {"note": REDOS_EMAIL})),
    "timestamp 9999-12-31": (
        True,
        lambda: _message("bench_hostile", {}, timestamp="9999-12-31T23:59:59Z"),
    ),
}


@dataclass
class Request:
    """One HTTP request and the tracked items it carries (message id → must be accepted)."""

    kind: str
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    items: list[tuple[str | None, str, bool]] = field(default_factory=list)  # id, kind, valid
    cost: int = 1  # events the key's rate limit may charge for it
    retry: bool = False


def _batch(texts: list[str]) -> bytes:
    return ('{"batch":[' + ",".join(texts) + "]}").encode()


def hostile_items(count: int) -> list[tuple[str, str | None, str, bool]]:
    """`count` random hostile items: (JSON text, message id, kind, must be accepted)."""
    out = []
    for name in random.choices(list(ITEM_KINDS), k=count):
        accepted, build = ITEM_KINDS[name]
        built = build()
        if isinstance(built, str):
            out.append((built, None, name, accepted))
        else:
            out.append((json.dumps(built), built["messageId"], name, accepted))
    return out


class Whole:
    """Requests refused (or accepted) as a whole, built once; ids refreshed where they matter."""

    def __init__(self) -> None:
        zeros = 249_000
        self.zeros = _batch(["0"] * zeros)
        bomb = gzip.compress(b'{"batch":[' + b" " * 50_000_000 + b"]}", compresslevel=9)
        self.bomb = bomb

    def build(self, name: str) -> Request:
        if name == "bad JSON":
            body = random.choice(
                [b'{"batch": [', b"{'batch': []}", b'{"batch": [1,]}', b"", b"null", b"[]",
                 b'{"batch": 5}', b"\x00\x01\x02"]
            )  # fmt: skip
            return Request(name, "/v1/batch", body)
        if name == "invalid UTF-8":
            return Request(name, "/v1/track", b'{"event": "x\xff\xfe", "anonymousId": "a"}')
        if name == "nesting 3,000":
            message = _message("bench_hostile", "NEST")
            depth = 3000
            text = json.dumps(message).replace('"NEST"', '{"a":' * depth + "0" + "}" * depth)
            return Request(
                name, "/v1/track", text.encode(), items=[(message["messageId"], name, False)]
            )
        if name == "integer of 5,000 digits":
            message = _message("bench_hostile", {"v": "DIGITS"})
            text = json.dumps(message).replace('"DIGITS"', "1" + "0" * 4999)
            return Request(
                name, "/v1/track", text.encode(), items=[(message["messageId"], name, False)]
            )
        if name == "250k-item batch":
            return Request(name, "/v1/batch", self.zeros, cost=MAX_BATCH_ITEMS)
        if name == "2,501-item batch":  # small items: the batch stays under the byte limit
            messages = [
                {"type": "track", "event": "b", "messageId": uuid.uuid4().hex, "anonymousId": "h"}
                for _ in range(2501)
            ]
            return Request(
                name,
                "/v1/batch",
                json.dumps({"batch": messages}).encode(),
                items=[(message["messageId"], name, False) for message in messages],
                cost=MAX_BATCH_ITEMS,
            )
        if name == "gzip bomb 50 MB":
            return Request(name, "/v1/batch", self.bomb, {"Content-Encoding": "gzip"})
        if name == "Content-Encoding br":
            return Request(name, "/v1/batch", b"\x1b\x00", {"Content-Encoding": "br"})
        if name == "X-Request-Id of 10 KB":
            message = _message("bench_hostile", {"ok": True})
            return Request(
                name,
                "/v1/track",
                json.dumps(message).encode(),
                {"X-Request-Id": "r" * 10_000},
                items=[(message["messageId"], name, True)],
            )
        raise ValueError(name)


WHOLE_KINDS = {  # name: weight among whole-request probes
    "bad JSON": 30,
    "invalid UTF-8": 10,
    "nesting 3,000": 10,
    "integer of 5,000 digits": 10,
    "250k-item batch": 1,
    "2,501-item batch": 1,
    "gzip bomb 50 MB": 3,
    "Content-Encoding br": 5,
    "X-Request-Id of 10 KB": 10,
}


def hostile_request(whole: Whole) -> Request:
    """Half hostile item batches, a third single hostile items, the rest whole requests."""
    roll = random.random()
    if roll < 0.5:
        items = hostile_items(HOSTILE_BATCH)
        return Request(
            "hostile item batch",
            "/v1/batch",
            _batch([text for text, *_ in items]),
            items=[(message_id, kind, ok) for _, message_id, kind, ok in items],
            cost=len(items),
        )
    if roll < 0.83:
        [(text, message_id, kind, ok)] = hostile_items(1)
        return Request(f"track: {kind}", "/v1/track", text.encode(), items=[(message_id, kind, ok)])
    name = random.choices(list(WHOLE_KINDS), weights=list(WHOLE_KINDS.values()))[0]
    return whole.build(name)


def valid_request(mixed: bool) -> Request:
    """A batch of the marketplace's events; in the hostile phase with hostile items inside."""
    events = segment_events(VALID_BATCH)
    texts = [json.dumps(event) for event in events]
    items = [(event["messageId"], "valid", True) for event in events]
    if mixed:
        for text, message_id, kind, ok in hostile_items(MIXED_ITEMS):
            at = random.randint(0, len(texts))
            texts.insert(at, text)
            items.insert(at, (message_id, kind, ok))
    kind = "valid batch with hostile items" if mixed else "valid batch"
    return Request(kind, "/v1/batch", _batch(texts), items=items, cost=len(items), retry=True)


# --- what happened ------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    valid_sent: int = 0
    acked: dict[str, float] = field(default_factory=dict)  # valid id → answer time
    pending: dict[str, float] = field(default_factory=dict)  # acked, not yet seen (in order)
    seen: dict[str, float] = field(default_factory=dict)  # valid id → first seen in Postgres
    record_lag: list[int] = field(default_factory=list)
    rss_peak: dict[str, int] = field(default_factory=dict)


@dataclass
class Ledger:
    valid: set[str] = field(default_factory=set)
    accepted_hostile: set[str] = field(default_factory=set)
    refused_hostile: set[str] = field(default_factory=set)
    answers: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    items: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    reasons: dict[str, str] = field(default_factory=dict)
    wrong: list[str] = field(default_factory=list)  # correctness failures, one line each


class Sender:
    def __init__(self, client: httpx.AsyncClient, ledger: Ledger) -> None:
        self.client = client
        self.ledger = ledger
        self.slots = asyncio.Semaphore(IN_FLIGHT)
        self.tasks: set[asyncio.Task] = set()

    def start(self, request: Request, phase: Phase, until: float) -> None:
        """Sends `request`; valid ones are retried until GRACE_S after the phase (`until`),
        hostile ones are dropped if they cannot leave within a few seconds of it."""
        give_up_at = until + (GRACE_S if request.retry else 5.0)
        task = asyncio.create_task(self._send(request, phase, give_up_at))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _send(self, request: Request, phase: Phase, give_up_at: float) -> None:
        for _ in range(MAX_ATTEMPTS):
            async with self.slots:
                if clock() > give_up_at:  # ingest fell so far behind that this never left
                    self.ledger.answers[request.kind]["not sent: backlog"] += 1
                    self.ledger.wrong.append(f"{request.kind}: not sent, ingest fell behind")
                    break
                started = clock()
                try:
                    answer = await self.client.post(
                        request.path,
                        content=request.body,
                        headers={"Content-Type": "application/json", **request.headers},
                    )
                    status, body = answer.status_code, answer.content
                    retry_after = float(answer.headers.get("Retry-After") or 1)
                except httpx.TimeoutException:
                    status, body, retry_after = "timeout", b"", 1.0
                except httpx.HTTPError as error:
                    status, body, retry_after = type(error).__name__, b"", 1.0
                answered = clock()
            self.ledger.answers[request.kind][status] += 1
            self.ledger.latency[request.kind].append(answered - started)
            # The broker is up all along: any 5xx (503 included) or no answer is ingest failing.
            if status == "timeout" or (isinstance(status, int) and status >= 500):
                self.ledger.wrong.append(f"{request.kind}: answered {status} {body[:160]!r}")
            if status in (200, 400, 413, 415) or not request.retry:
                self._settle(request, phase, status, body, answered)
                return
            if clock() + retry_after > give_up_at:
                break
            await asyncio.sleep(retry_after)
        self._settle(request, phase, "gave up", b"", clock())

    def _settle(self, request: Request, phase: Phase, status, body: bytes, at: float) -> None:
        """Which items ingest accepted, from its answer (2xx all, 400 all but the listed)."""
        refused: set[int] = set()
        whole_refused = status != 200
        if status == 400:
            try:
                errors = json.loads(body).get("errors", [])
            except (ValueError, AttributeError):
                errors = [{"index": None, "reason": "unreadable 400"}]
            whole_refused = any(error.get("index") is None for error in errors)
            refused = {error["index"] for error in errors if error.get("index") is not None}
            for error in errors:
                index = error.get("index")
                if index is not None and 0 <= index < len(request.items):
                    kind = request.items[index][1]
                    self.ledger.reasons.setdefault(
                        kind, f"{error.get('field', '')}: {error.get('reason', '')}"[:120]
                    )
            if whole_refused and errors:
                self.ledger.reasons.setdefault(request.kind, str(errors[0].get("reason"))[:120])
        for index, (message_id, kind, ok) in enumerate(request.items):
            accepted = not whole_refused and index not in refused
            self.ledger.items[kind]["accepted" if accepted else "refused"] += 1
            if kind == "valid":
                if accepted:
                    phase.acked[message_id] = phase.pending[message_id] = at
                else:
                    self.ledger.wrong.append(f"valid event refused ({status}) in {request.kind}")
            elif message_id is not None:
                target = self.ledger.accepted_hostile if accepted else self.ledger.refused_hostile
                target.add(message_id)
            if kind != "valid" and status in (200, 400) and accepted != ok:
                expected = "accepted" if ok else "refused"
                self.ledger.wrong.append(f"{kind}: {expected} expected, got {status}")

    async def drain(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)


# --- the stack and its processes ------------------------------------------------------------------


class LookoutUp:
    """`lookout up --data-dir DIR` as a child; its stack.json; its services' pids."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.log = data_dir / "up.log"
        env = {key: value for key, value in os.environ.items() if key != "LOOKOUT_TOPIC_PREFIX"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lookout_devstack.cli", "up", "--data-dir", str(data_dir)],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )

    async def info(self) -> dict:
        for _ in range(900):
            if self.process.poll() is not None:
                raise RuntimeError(f"lookout up exited: {self.log.read_text()[-2000:]}")
            try:
                return json.loads((self.data_dir / "stack.json").read_text())
            except (FileNotFoundError, json.JSONDecodeError):
                await asyncio.sleep(0.2)
        raise TimeoutError(f"lookout up not ready in 180 s; see {self.log}")

    def pid(self, module: str) -> int | None:
        """The pid of the stack's `python -m <module>` child (it changes if restarted)."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            parent = int(stat.rpartition(")")[2].split()[1])
            if parent == self.process.pid and module.encode() in cmdline:
                return int(entry.name)
        return None

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(150)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


def _status_kb(pid: int, field_name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


class Memory:
    """Peak RSS of a process over a phase: the kernel's high-water mark, reset at the start."""

    def __init__(self, up: LookoutUp, module: str) -> None:
        self.up, self.module = up, module
        self.pid = up.pid(module)
        self.pids = {self.pid}
        self.sampled = 0

    def reset(self) -> None:
        self.sampled = 0
        with contextlib.suppress(OSError):  # "5" resets VmHWM (Linux 4.0 and later)
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")

    def sample(self) -> None:
        pid = self.up.pid(self.module) or self.pid
        if pid != self.pid:
            self.pids.add(pid)
            self.pid = pid
        with contextlib.suppress(OSError):
            self.sampled = max(self.sampled, _status_kb(pid, "VmRSS"))

    def peak_kb(self) -> int:
        try:
            return max(self.sampled, _status_kb(self.pid, "VmHWM"))
        except OSError:
            return self.sampled


async def watch_lag(
    database_url: str, aggregator_url: str, key: str, phases: list[Phase], stop
) -> None:
    """Until `stop` is set: when each acknowledged valid id first shows in `event_ids`, and
    the aggregator's own record lag every half second."""
    connection = await asyncpg.connect(database_url)
    last_lag_sample = 0.0
    try:
        async with httpx.AsyncClient(timeout=5, headers={"Authorization": f"Bearer {key}"}) as http:
            while not stop.is_set():
                for phase in phases:
                    pending = list(itertools.islice(phase.pending, 5000))
                    if pending:
                        rows = await connection.fetch(
                            "SELECT event_id FROM event_ids WHERE event_id = ANY($1::text[])",
                            pending,
                        )
                        now = clock()
                        for row in rows:
                            phase.seen[row["event_id"]] = now
                            phase.pending.pop(row["event_id"], None)
                if clock() - last_lag_sample >= 0.5:
                    last_lag_sample = clock()
                    try:
                        lag = (await http.get(f"{aggregator_url}/lag")).json().get("lag")
                    except (httpx.HTTPError, ValueError):
                        lag = None
                    if lag is not None and phases:
                        phases[-1].record_lag.append(lag)
                await asyncio.sleep(LAG_POLL_S)
    finally:
        await connection.close()


# --- the run ------------------------------------------------------------------------------------


async def run_phase(
    phase: Phase,
    sender: Sender,
    seconds: float,
    valid_rate: float,
    hostile_rate: float,
    memories: list[Memory],
    whole: Whole | None,
) -> None:
    for memory in memories:
        memory.reset()
    started = clock()
    until = started + seconds
    interval = VALID_BATCH / valid_rate
    next_valid = started
    budget, last = 0.0, started
    next_hostile = hostile_request(whole) if whole else None
    next_sample = started
    while (now := clock()) < until:
        while next_valid <= now:
            request = valid_request(mixed=whole is not None)
            phase.valid_sent += VALID_BATCH
            sender.start(request, phase, until)
            next_valid += interval
        if next_hostile is not None:
            budget = min(budget + (now - last) * hostile_rate, 2.0 * MAX_BATCH_ITEMS)
            while budget >= next_hostile.cost:
                budget -= next_hostile.cost
                sender.start(next_hostile, phase, until)
                next_hostile = hostile_request(whole)
        last = now
        if now >= next_sample:
            for memory in memories:
                memory.sample()
            next_sample = now + 0.25
        await asyncio.sleep(0.005)
    await sender.drain()
    for memory in memories:
        memory.sample()
        phase.rss_peak[memory.module] = memory.peak_kb()


async def count_once(database_url: str, ids: set[str]) -> tuple[int, int]:
    """(rows, distinct ids) of `user_analytics` among `ids`."""
    connection = await asyncpg.connect(database_url)
    rows = distinct = 0
    try:
        ordered = sorted(ids)
        for start in range(0, len(ordered), 20_000):
            chunk = ordered[start : start + 20_000]
            row = await connection.fetchrow(
                "SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM user_analytics"
                " WHERE event_id = ANY($1::text[])",
                chunk,
            )
            rows, distinct = rows + row["n"], distinct + row["d"]
        return rows, distinct
    finally:
        await connection.close()


async def dashboard_total(info: dict, since: datetime) -> int:
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.get(
            f"{info['dashboard_url']}/api/v1/analytics/events",
            params={
                "from": since.isoformat(),
                "to": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
                "granularity": "hour",
            },
            headers={"Authorization": f"Bearer {info['admin_key']}"},
        )
    answer.raise_for_status()
    return sum(point["events"] for point in answer.json()["points"])


def _ms(values: list[float], fraction: float) -> float:
    return percentile(values, fraction) * 1000 if values else float("nan")


def report(phases: list[Phase], ledger: Ledger) -> None:
    print("\nphase    valid events  acked    stored   lag p50 ms  lag p99 ms  records-lag p99"
          "  ingest peak RSS  aggregator peak RSS")  # fmt: skip
    lags = {}
    for phase in phases:
        lag = [phase.seen[id_] - at for id_, at in phase.acked.items() if id_ in phase.seen]
        lags[phase.name] = lag
        records = percentile(phase.record_lag, 0.99) if phase.record_lag else float("nan")
        print(
            f"{phase.name:<8} {phase.valid_sent:>12,} {len(phase.acked):>7,} "
            f"{len(phase.seen):>8,} {_ms(lag, 0.5):>11.0f} {_ms(lag, 0.99):>11.0f} "
            f"{records:>16,.0f} {phase.rss_peak.get('lookout_ingest', 0) / 1024:>13.0f} MB "
            f"{phase.rss_peak.get('lookout_aggregator', 0) / 1024:>16.0f} MB"
        )
    if len(phases) == 2 and lags["clean"] and lags["hostile"]:
        clean, hostile = phases
        lag_ratio = _ms(lags["hostile"], 0.99) / max(_ms(lags["clean"], 0.99), 1e-9)
        clean_rss, hostile_rss = (
            clean.rss_peak["lookout_ingest"],
            hostile.rss_peak["lookout_ingest"],
        )
        rss_ratio = hostile_rss / max(clean_rss, 1)
        print(
            f"hostile / clean: aggregator lag p99 {lag_ratio:.2f} (target <= 1.5: "
            f"{'met' if lag_ratio <= 1.5 else 'MISSED'}), ingest peak RSS {rss_ratio:.2f} "
            f"({(hostile_rss - clean_rss) / 1024:+.0f} MB; bounded if <= 1.5: "
            f"{'met' if rss_ratio <= 1.5 else 'MISSED'})"
        )
    print("\nanswers by request kind (status: count), answer time p99 / max ms")
    for kind in sorted(ledger.answers):
        statuses = ", ".join(
            f"{status}: {n}" for status, n in sorted(ledger.answers[kind].items(), key=str)
        )
        latency = ledger.latency[kind]
        print(f"  {kind:<46} {statuses:<34} {_ms(latency, 0.99):>7.0f} / {max(latency) * 1000:.0f}")
    print("\nitems by kind: accepted / refused, first reason given")
    for kind in sorted(ledger.items):
        counts = ledger.items[kind]
        reason = ledger.reasons.get(kind, "")
        print(f"  {kind:<28} {counts['accepted']:>7,} / {counts['refused']:<7,} {reason}")


async def main(arguments: argparse.Namespace, data_dir: Path) -> int:
    settings = IngestSettings()
    key_rate = settings.key_rate_per_s or 1000.0
    valid_rate = key_rate * arguments.valid_share
    mixed_rate = valid_rate / VALID_BATCH * MIXED_ITEMS
    hostile_rate = max(key_rate - valid_rate - mixed_rate, 0.0)
    print(
        f"write key rate limit {key_rate:,.0f} events/s (burst {settings.key_burst:,}); valid "
        f"{valid_rate:,.0f} events/s in batches of {VALID_BATCH}; hostile phase adds "
        f"{mixed_rate:,.0f} hostile items/s inside them and {hostile_rate:,.0f}/s in hostile "
        f"requests\nlookout up --data-dir {data_dir}",
        flush=True,
    )
    up = LookoutUp(data_dir)
    ledger = Ledger()
    phases: list[Phase] = []
    stop_watch = asyncio.Event()
    try:
        info = await up.info()
        since = datetime.now(UTC) - timedelta(hours=1)
        memories = [Memory(up, "lookout_ingest"), Memory(up, "lookout_aggregator")]
        watcher = asyncio.create_task(
            watch_lag(
                info["database_url"],
                info["services"]["analytics-aggregator"],
                info["admin_key"],
                phases,
                stop_watch,
            )
        )
        limits = httpx.Limits(max_connections=IN_FLIGHT * 2)
        async with httpx.AsyncClient(
            base_url=info["ingest_url"],
            auth=(info["write_key"], ""),
            timeout=ANSWER_TIMEOUT_S,
            limits=limits,
        ) as client:
            sender = Sender(client, ledger)
            plan = [("clean", arguments.clean_seconds or arguments.seconds, None)]
            plan.append(("hostile", arguments.seconds, Whole()))
            for name, seconds, whole in plan:
                phase = Phase(name)
                phases.append(phase)
                print(f"{name} phase: {seconds:.0f} s", flush=True)
                await run_phase(phase, sender, seconds, valid_rate, hostile_rate, memories, whole)
        for phase in phases:
            ledger.valid.update(phase.acked)

        async def caught_up() -> bool:
            return all(len(phase.seen) >= len(phase.acked) for phase in phases)

        deadline = clock() + GRACE_S
        while not await caught_up() and clock() < deadline:
            await asyncio.sleep(0.2)
        stop_watch.set()
        await watcher
        report(phases, ledger)
        for memory in memories:
            if len(memory.pids) > 1:
                ledger.wrong.append(f"{memory.module} crashed and was restarted")

        sent_valid = sum(phase.valid_sent for phase in phases)
        must_store = ledger.valid | ledger.accepted_hostile
        rows, distinct = await count_once(info["database_url"], must_store)
        stray_rows, _ = await count_once(info["database_url"], ledger.refused_hostile)
        total = await dashboard_total(info, since)
        print(
            f"\nexactly once: {sent_valid:,} valid events sent, {len(ledger.valid):,} accepted; "
            f"with {len(ledger.accepted_hostile):,} accepted hostile items, "
            f"{len(must_store):,} must be stored once: {rows:,} rows, {distinct:,} distinct in "
            f"Postgres; {total:,} in the dashboard's event counts; {stray_rows:,} rows of "
            f"{len(ledger.refused_hostile):,} refused items"
        )
        if len(ledger.valid) != sent_valid:
            ledger.wrong.append(f"{sent_valid - len(ledger.valid):,} valid events not accepted")
        if not rows == distinct == len(must_store) == total:
            ledger.wrong.append("accepted events not counted exactly once")
        if stray_rows:
            ledger.wrong.append(f"{stray_rows} refused items were stored")
    finally:
        stop_watch.set()
        up.stop()
    wrong = Counter(ledger.wrong)
    for line, count in wrong.most_common():
        print(f"WRONG ({count}x): {line}")
    print("all checks passed" if not wrong else f"{sum(wrong.values())} checks failed")
    return 1 if wrong else 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds main(), whose finally stops the stack


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300, help="hostile phase (default 300)")
    parser.add_argument(
        "--clean-seconds", type=float, default=0, help="clean phase (default: as --seconds)"
    )
    parser.add_argument(
        "--valid-share", type=float, default=0.5, help="valid events' share of the key's rate"
    )
    parser.add_argument("--data-dir", help="lookout up's data dir (default: a new temp dir)")
    parsed = parser.parse_args()
    directory = Path(parsed.data_dir or tempfile.mkdtemp(prefix="lookout-hostile-"))
    directory.chmod(0o755)  # embedded Postgres runs as an unprivileged user when we are root
    sys.exit(asyncio.run(main(parsed, directory)))
