"""Socket resume and pusher drain (delivery guarantees).

A client that reconnects names the last position it saw per conversation
in its auth frame; the pusher replays everything after it exactly once, in
order, joined to the live stream without a gap, or says resume.gap. On
SIGTERM a pusher tells each client to reconnect after a jittered delay."""
import asyncio
import json
import secrets
import signal
import threading
import time
import urllib.parse

import pytest
import requests

import parley_stack
from parley_client import Socket, event_frames, pos_key, ws_url


def _call(user, method, path, body=None):
    r = requests.request(method, user.api.url + path, json=body, headers=user.auth, timeout=30)
    assert r.status_code == 202, r.text
    return r.json()["position"]


def _send(user, conv, text):
    return user.send(conv, text)["position"]


def _projected(user, conv, pos):
    user.history(conv, min_position=pos, limit=1)


@pytest.fixture(scope="module")
def other_pusher(stack):
    h = stack.start_service("pusher", port=parley_stack.free_port(), wait=True)
    assert h.ready()
    yield h
    h.stop()


@pytest.fixture(scope="module")
def log_pusher(stack):
    """A pusher that keeps no recent deliveries: every resume is read from
    the log by its replay worker."""
    h = stack.start_service("pusher", port=parley_stack.free_port(), wait=True,
                            extra_env={"PARLEY_RESUME_BUFFER": "0"})
    assert h.ready()
    yield h
    h.stop()


@pytest.fixture(scope="module")
def tight_pusher(stack):
    """A pusher with tiny resume limits, for the explicit gaps (from the
    log: from memory there is nothing to give up on)."""
    h = stack.start_service("pusher", port=parley_stack.free_port(), wait=True, extra_env={
        "PARLEY_RESUME_MAX_RECORDS": "3", "PARLEY_RESUME_MAX_CONVERSATIONS": "1",
        "PARLEY_RESUME_BUFFER": "0"})
    assert h.ready()
    yield h
    h.stop()


@pytest.fixture(params=["memory", "log"])
def resume_source(request):
    """Which pusher answers a resume: one with its recent deliveries in
    memory (the default), or one that reads the log."""
    name = {"memory": "other_pusher", "log": "log_pusher"}[request.param]
    return request.param, request.getfixturevalue(name)


def resumes(pusher, source):
    """pusher_resumes_total{source=...} from the pusher's metrics."""
    text = requests.get(f"http://127.0.0.1:{pusher.port}/metrics", timeout=10).text
    line = f'pusher_resumes_total{{source="{source}"}} '
    return sum(float(l[len(line):]) for l in text.splitlines() if l.startswith(line))


def _done(sock, conv):
    return lambda f: f.get("type") in ("resume.done", "resume.gap") \
        and f.get("conversation_id") == conv


def _check_stream(frames, conv, after, want):
    """The conversation's event frames after `after` are exactly want, in order."""
    got = [f["position"] for f in event_frames(frames, conv)]
    assert got == sorted(got, key=pos_key), got
    assert len(got) == len(set(got)), f"duplicates: {got}"
    assert all(pos_key(p) > pos_key(after) for p in got), (after, got)
    assert got == sorted(want, key=pos_key), (got, want)


def test_resume_replays_missed_events_then_live_without_gap(api, stack, resume_source):
    source, other_pusher = resume_source
    before_resumes = resumes(other_pusher, source)
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)["id"]
    port_a = stack.config.service_port("pusher")
    first = [_send(alice, conv, f"before {i}") for i in range(3)]

    async def online_then_offline():
        async with Socket(ws_url(None, port_a), bob.access) as s:
            m = _send(alice, conv, "seen live")
            await s.wait_for(lambda f: f.get("position") == m)
            return m
    last_seen = asyncio.run(online_then_offline())

    # Offline: messages, an edit and a reaction.
    missed = [_send(alice, conv, f"missed {i}") for i in range(6)]
    mid = alice.history(conv, min_position=missed[0], limit=200)["messages"]
    mid = next(m["id"] for m in mid if m["position"] == missed[0])
    missed.append(_call(alice, "PATCH", f"/api/v1/conversations/{conv}/messages/{mid}",
                        {"text": "missed 0, edited"}))
    emoji = urllib.parse.quote("👍", safe="")
    missed.append(_call(bob, "PUT", f"/api/v1/conversations/{conv}/messages/{mid}"
                                    f"/reactions/{emoji}"))
    during, errors = [], []

    def concurrent_sender():
        for i in range(20):
            try:
                during.append(_send(alice, conv, f"during {i}"))
            except AssertionError as e:
                errors.append(e)
            time.sleep(0.01)

    async def resume_elsewhere():
        t = threading.Thread(target=concurrent_sender)
        t.start()  # sends land before, during and after the replay
        async with Socket(ws_url(None, other_pusher.port), bob.access,
                          resume={conv: last_seen}) as s:
            end = await s.wait_for(_done(s, conv), timeout=30)
            assert end[0]["type"] == "resume.done", end
            t.join(60)
            after = [_send(alice, conv, f"after {i}") for i in range(3)]
            want = missed + during + after
            await s.wait_for(lambda f: f.get("position") == after[-1], timeout=30)
            await asyncio.sleep(0.5)  # anything extra (a duplicate) would show up now
            return list(s.frames), want
    frames, want = asyncio.run(resume_elsewhere())
    assert not errors, errors
    assert first and pos_key(first[-1]) < pos_key(last_seen)
    _check_stream(frames, conv, last_seen, want)
    kinds = [f["type"] for f in event_frames(frames, conv)]
    assert kinds.count("message.edited") == 1 and kinds.count("reaction.added") == 1
    # From the log, resume.done follows every event written before the
    # client asked. From memory it follows what this pusher had received
    # then; events still on their way to it come after, as live frames.
    done = next(i for i, f in enumerate(frames) if f.get("type") == "resume.done")
    replayed = [i for i, f in enumerate(frames)  # resume.done may name missed[-1]
                if f.get("position") in missed and not f["type"].startswith("resume.")]
    assert replayed and (max(replayed) < done if source == "log" else min(replayed) < done)
    assert resumes(other_pusher, source) == before_resumes + 1


def test_a_new_pusher_resumes_recent_history_from_memory(api, stack):
    """A pusher reads the newest PARLEY_RESUME_BUFFER records of each
    partition when it starts, so the clients of a pusher that died, all
    resuming at once, are answered from memory by its replacement."""
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)["id"]
    sent = [_send(alice, conv, f"before the pusher {i}") for i in range(5)]
    fresh = stack.start_service("pusher", port=parley_stack.free_port(), wait=True)
    try:
        assert fresh.ready()

        async def ask():
            async with Socket(ws_url(None, fresh.port), bob.access,
                              resume={conv: sent[0]}) as s:
                end = await s.wait_for(_done(s, conv), timeout=30)
                assert end[0]["type"] == "resume.done", end
                live = _send(alice, conv, "after the pusher")
                await s.wait_for(lambda f: f.get("position") == live, timeout=30)
                await asyncio.sleep(0.3)
                return list(s.frames), live
        frames, live = asyncio.run(ask())
        _check_stream(frames, conv, sent[0], sent[1:] + [live])
        assert resumes(fresh, "memory") == 1 and resumes(fresh, "log") == 0
    finally:
        fresh.stop()


def test_resume_gaps_are_explicit(api, stack, tight_pusher):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)["id"]
    other = alice.direct_with(api.user())["id"]
    start = _send(alice, conv, "start")

    async def sent_and_seen():
        """Sends, and waits until the tight pusher's live feed is past every
        send: a record it had not read yet when bob connects would reach him
        as a (held, then live) frame after the gap, which is correct but not
        what this test is about."""
        async with Socket(ws_url(None, tight_pusher.port), alice.access) as s:
            # more than PARLEY_RESUME_MAX_RECORDS=3 records after start
            last = [_send(alice, conv, f"m{i}") for i in range(5)][-1]
            o1 = _send(alice, other, "x")
            # The pusher routes a record once the projection has its
            # membership; after the fault tests that can take a while.
            _projected(alice, conv, last)
            _projected(alice, other, o1)
            for pos in (last, o1):
                await s.wait_for(lambda f, pos=pos: f.get("position") == pos, timeout=60)
            return o1
    o1 = asyncio.run(sent_and_seen())
    p, o = pos_key(start)

    async def ask(resume):
        async with Socket(ws_url(None, tight_pusher.port), bob.access, resume=resume) as s:
            for c in resume:
                await s.wait_for(_done(s, c), timeout=30)
            await asyncio.sleep(0.3)
            return {f["conversation_id"]: f for f in s.frames
                    if f.get("type") in ("resume.gap", "resume.done")}, s.frames

    got, frames = asyncio.run(ask({conv: start}))
    assert got[conv]["type"] == "resume.gap" and got[conv]["reason"] == "too_far", got
    assert got[conv]["from"] == start
    assert event_frames(frames, conv) == []  # a gap replays nothing silently

    # More conversations than PARLEY_RESUME_MAX_CONVERSATIONS=1: the rest are gaps.
    got, _ = asyncio.run(ask({conv: start, other: o1}))
    assert [g["reason"] for g in got.values() if g["type"] == "resume.gap"].count("too_many") == 1

    # A position on another partition is not this conversation's.
    wrong = f"p{(p + 1) % 32}.o{o}"
    got, _ = asyncio.run(ask({conv: wrong}))
    assert got[conv]["reason"] == "partition" and got[conv]["from"] == wrong

    # A position the log never had.
    future = f"p{p}.o{o + 10**9}"
    got, _ = asyncio.run(ask({conv: future}))
    assert got[conv]["reason"] == "unknown_position"


def test_resume_before_log_start_is_a_gap(api, stack, log_pusher, other_pusher):
    """Records deleted from the log (retention) cannot be replayed from it:
    resume.gap with reason retention, and the client pages REST from
    `from`. A pusher that still holds them in memory replays them."""
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)["id"]
    old = _send(alice, conv, "old")
    newer = [_send(alice, conv, f"n{i}") for i in range(3)]
    _projected(alice, conv, newer[-1])
    p, o = pos_key(old)
    _delete_records_before(stack, p, o + 1)
    before_old = f"p{p}.o{o - 1}" if o > 0 else None
    if before_old is None:
        pytest.skip("the conversation's first record is the partition's first")

    async def ask():
        async with Socket(ws_url(None, log_pusher.port), bob.access,
                          resume={conv: before_old}) as s:
            return (await s.wait_for(_done(s, conv), timeout=30))[0]
    f = asyncio.run(ask())
    assert f["type"] == "resume.gap" and f["reason"] == "retention" and f["from"] == before_old

    async def ask_ok(pusher, since):
        async with Socket(ws_url(None, pusher.port), bob.access, resume={conv: since}) as s:
            await s.wait_for(_done(s, conv), timeout=30)
            await asyncio.sleep(0.3)
            return list(s.frames)
    # from a position still in the log it replays
    _check_stream(asyncio.run(ask_ok(log_pusher, old)), conv, old, newer)
    # memory outlives the deletion
    _check_stream(asyncio.run(ask_ok(other_pusher, before_old)), conv, before_old,
                  [old] + newer)


def _delete_records_before(stack, partition, offset):
    """Moves the partition's log start to offset, the way retention does,
    once the archiver (the one consumer that reads every record and is not
    done when the projection is) is past it."""
    import subprocess
    cfg = stack.config
    spec = {"partitions": [{"topic": "parley.events", "partition": partition,
                            "offset": offset}], "version": 1}
    path = cfg.data_dir / f"delete-{secrets.token_hex(4)}.json"
    path.write_text(json.dumps(spec))
    _wait_archived(stack, partition, offset)
    env = dict(__import__("os").environ, PARLEY_KAFKA_PORT=str(cfg.kafka_port))
    r = subprocess.run(["bash", "-c", '. "$0/env.sh" && kafka_tool '
                        'org.apache.kafka.tools.DeleteRecordsCommand --bootstrap-server '
                        '"$KAFKA_BOOTSTRAP" --offset-json-file "$1"',
                        str(cfg.kafka_scripts), str(path)],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stdout + r.stderr


def _wait_archived(stack, partition, offset, timeout=60):
    """The archiver must have sealed the records we delete, or it would see
    a hole in the log."""
    end = time.monotonic() + timeout
    while True:
        n = _psql(stack, "SELECT coalesce(max(next_offset), 0) FROM archive.offsets "
                         f"WHERE topic = 'parley.events' AND partition = {int(partition)}")
        if n and int(n) >= offset:
            return
        assert time.monotonic() < end, f"archive not past p{partition}.o{offset}: {n}"
        time.sleep(0.5)


def _psql(stack, sql):
    import subprocess
    cfg = stack.config
    psql = (cfg.pg_bin / "psql") if getattr(cfg, "pg_bin", None) else "psql"
    r = subprocess.run([str(psql), "-h", "127.0.0.1", "-p", str(cfg.pg_port), "-U", "parley",
                        "-d", "parley", "-At", "-c", sql], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_removed_member_resume_stops_at_removal(api, stack, resume_source):
    _, other_pusher = resume_source
    alice, bob, carol = api.user(), api.user(), api.user()
    r = alice.post("/api/v1/conversations", {"kind": "group", "title": "g-" + secrets.token_hex(3),
                                             "member_ids": [bob.id, carol.id]})
    assert r.status_code == 201, r.text
    conv = r.json()["conversation"]["id"]
    seen = _send(alice, conv, "hello all")
    _projected(alice, conv, seen)
    before = _send(alice, conv, "bob still here")
    removed = _call(alice, "DELETE", f"/api/v1/conversations/{conv}/members/{bob.id}")
    _projected(alice, conv, removed)
    after = [_send(alice, conv, f"after removal {i}") for i in range(3)]
    _projected(alice, conv, after[-1])

    async def resume(user):
        async with Socket(ws_url(None, other_pusher.port), user.access,
                          resume={conv: seen}) as s:
            end = await s.wait_for(_done(s, conv), timeout=30)
            assert end[0]["type"] == "resume.done", end
            await asyncio.sleep(0.5)
            return list(s.frames)
    bob_frames = asyncio.run(resume(bob))
    _check_stream(bob_frames, conv, seen, [before, removed])
    assert [f["type"] for f in event_frames(bob_frames, conv)][-1] == "member.removed"
    carol_frames = asyncio.run(resume(carol))
    _check_stream(carol_frames, conv, seen, [before, removed] + after)


class Client:
    """A socket user that follows reconnect frames: after after_ms it
    reconnects to `fallback` with resume, and keeps every frame."""

    def __init__(self, user, conv, url, fallback):
        self.user, self.conv, self.url, self.fallback = user, conv, url, fallback
        self.frames, self.after_ms, self.last = [], [], None
        self.moved_at = None

    async def run(self, stop):
        url, resume = self.url, None
        while not stop.is_set():
            async with Socket(url, self.user.access, resume=resume) as s:
                taken, rc = 0, []
                while not stop.is_set() and not rc and not s.task.done():
                    await asyncio.sleep(0.02)
                    taken = self._take(s.frames, taken)
                    rc = [f for f in s.frames if f.get("type") == "reconnect"]
                if rc:
                    self.after_ms.append(rc[0]["after_ms"])
                    end = time.monotonic() + rc[0]["after_ms"] / 1000
                    while time.monotonic() < end and not s.task.done():
                        await asyncio.sleep(0.02)  # frames keep coming meanwhile
                        taken = self._take(s.frames, taken)
                    self.moved_at = time.monotonic()
                self._take(s.frames, taken)
            url = self.fallback
            resume = {self.conv: self.last} if self.last else None

    def _take(self, frames, start):
        for f in frames[start:]:
            self.frames.append(f)
            if f.get("conversation_id") == self.conv and "position" in f \
                    and not f["type"].startswith("resume.") \
                    and (self.last is None or pos_key(f["position"]) > pos_key(self.last)):
                self.last = f["position"]
        return len(frames)


def test_sigterm_drain_moves_clients_without_loss(api, stack):
    port_a = stack.config.service_port("pusher")
    draining = stack.start_service("pusher", port=parley_stack.free_port(), wait=True,
                                   restart=False, extra_env={"PARLEY_DRAIN_JITTER_MS": "2500"})
    assert draining.ready()
    owner = api.user()
    members = [api.user() for _ in range(5)]
    r = owner.post("/api/v1/conversations", {"kind": "group", "title": "drain",
                                             "member_ids": [m.id for m in members]})
    assert r.status_code == 201, r.text
    conv = r.json()["conversation"]["id"]
    sent, stop_sending = [], threading.Event()

    def sender():
        i = 0
        while not stop_sending.is_set():
            sent.append(owner.send(conv, f"s{i}")["position"])
            i += 1
            time.sleep(0.03)

    async def scenario():
        stop = asyncio.Event()
        clients = [Client(m, conv, ws_url(None, draining.port), ws_url(None, port_a))
                   for m in members]
        tasks = [asyncio.ensure_future(c.run(stop)) for c in clients]
        await asyncio.sleep(1.0)
        t = threading.Thread(target=sender)
        t.start()
        await asyncio.sleep(1.0)
        t0 = time.monotonic()
        stopper = threading.Thread(target=draining.stop, kwargs={"timeout": 20})
        stopper.start()
        while any(c.moved_at is None for c in clients) and time.monotonic() - t0 < 20:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)
        stop_sending.set()
        t.join(30)
        end = time.monotonic() + 30
        while time.monotonic() < end and any(c.last != sent[-1] for c in clients):
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.gather(*tasks)
        stopper.join(30)
        return clients, t0

    clients, t0 = asyncio.run(scenario())
    assert draining._proc.returncode == 0, draining._proc.returncode
    after = [c.after_ms[0] for c in clients if c.after_ms]
    assert len(after) == len(clients), after
    assert len(set(after)) > 1, after  # jittered
    assert all(0 <= a <= 2500 for a in after), after
    for c in clients:
        got = [f["position"] for f in event_frames(c.frames, conv) if f["type"] == "message.created"]
        lost = len(set(sent) - set(got))
        dups = len(got) - len(set(got))
        print(json.dumps({"client": c.user.id[:8], "sent": len(sent), "delivered": len(got),
                          "lost": lost, "duplicates": dups, "after_ms": c.after_ms,
                          "moved_s": round(c.moved_at - t0, 2)}))
        assert (lost, dups) == (0, 0)
        assert got == sorted(got, key=pos_key)
