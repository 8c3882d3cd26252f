"""Fault tests: the promise is that once the server acknowledged a message,
it is stored exactly once and in order, whatever crashes around it.

Each scenario streams sends from a client that retries as a real one does
(same client_msg_id, backoff on 5xx and connection errors) while both
members hold a WebSocket that reconnects and resumes as a real client's
does, breaks something mid-stream, and then counts lost and duplicated
messages in the history and on every member's sockets. Figures go to
stdout (pytest -s) and to .parley/resilience.json (faultkit.py counts
them)."""
import signal
import time

import pytest
import requests

from faultkit import Receivers, RetryingSender, check as _check, record


def _pair(api):
    """Two members of a direct conversation, each with a receiving socket
    that resumes from a position before the first send."""
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)["id"]
    since = alice.send(conv, "receivers start")["position"]
    return alice, conv, Receivers(api.url, [alice, bob], conv, since).start()


def _wait_ready(handle, old_pid, timeout=120):
    t0 = time.monotonic()
    assert handle.wait_restarted(old_pid, timeout), f"{handle.name} did not come back"
    assert handle.wait_ready(timeout), f"{handle.name} not ready"
    return time.monotonic() - t0


@pytest.mark.parametrize("service", ["command", "projector", "pusher", "auth", "read"])
def test_sigkill_each_service_midstream(api, stack, service):
    alice, conv, rx = _pair(api)
    try:
        sender = RetryingSender(alice, conv, f"kill-{service}", 60).start()
        time.sleep(1.0)
        h = stack.handle(service)
        old = h.pid
        t0 = time.monotonic()
        h.kill(signal.SIGKILL)
        recovery = _wait_ready(h, old)
        sender.join()
        _check(f"sigkill {service}", alice, conv, sender, recovery, receivers=rx)
        assert time.monotonic() - t0 < 240
    finally:
        rx.stop()


def _restart_midstream(api, stack, name, sig, prefix, label):
    """Streams sends while a supervised process is signalled and comes back."""
    alice, conv, rx = _pair(api)
    try:
        sender = RetryingSender(alice, conv, prefix, 60).start()
        time.sleep(1.0)
        h = stack.handle(name)
        old = h.pid
        t0 = time.monotonic()
        h.kill(sig)
        assert h.wait_restarted(old, 120)
        sender.join()
        _check(label, alice, conv, sender, time.monotonic() - t0, receivers=rx)
    finally:
        rx.stop()


def test_kafka_broker_restart_midstream(api, stack):
    _restart_midstream(api, stack, "kafka", signal.SIGTERM, "kafka-restart", "kafka restart")


def test_postgres_restart_midstream(api, stack):
    # fast shutdown; the supervisor starts it again
    _restart_midstream(api, stack, "postgres", signal.SIGINT, "pg-restart", "postgres restart")


def test_paused_projector_cannot_corrupt_after_rebalance(api, stack):
    """SIGSTOP past the session timeout: the partitions move to the other
    member; on SIGCONT the stale member's work is fenced off."""
    import parley_stack
    second = stack.start_service("projector", port=parley_stack.free_port())
    rx = None
    try:
        alice, conv, rx = _pair(api)
        sender = RetryingSender(alice, conv, "sigstop", 80, rate=10).start()
        time.sleep(1.0)
        first = stack.handle("projector")
        t0 = time.monotonic()
        first.kill(signal.SIGSTOP)
        time.sleep(14)  # session.timeout.ms is 10 s
        first.kill(signal.SIGCONT)
        sender.join()
        _check("sigstop projector 14 s", alice, conv, sender, time.monotonic() - t0,
               receivers=rx)
        # A toggle replayed late would resurrect state: check it did not.
        msg = alice.send(conv, "toggle")
        alice.history(conv, min_position=msg["position"], limit=1)
        url = f"/api/v1/conversations/{conv}/messages/{msg['message_id']}/reactions/%F0%9F%91%8D"
        for method in ("put", "delete", "put", "delete"):
            r = getattr(requests, method)(api.url + url, headers=alice.auth, timeout=15)
            assert r.status_code in (200, 202), r.text
            if r.status_code == 202:
                alice.history(conv, min_position=r.json()["position"], limit=1)
        final = alice.history(conv, around=msg["message_id"], limit=1)["messages"]
        assert [m for m in final if m["id"] == msg["message_id"]][0]["reactions"] == []
    finally:
        if rx:
            rx.stop()
        second.stop()
        _settle(api, stack)


def _projector_gauges(stack):
    port = stack.config.service_port("projector")
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
            if line.startswith(("projector_assigned_partitions ", "projector_consumer_lag "))}


def _settle(api, stack, timeout=120):
    """After a rebalance the group takes a while to own every partition
    again (the paused member may be fenced and restarted): wait until the
    one projector left holds all 32 partitions with no lag, so the next
    test starts from a settled stack."""
    end = time.monotonic() + timeout
    while True:
        try:
            g = _projector_gauges(stack)
            if g.get("projector_assigned_partitions") == 32 and \
                    g.get("projector_consumer_lag") == 0:
                return
        except (requests.RequestException, ValueError, IndexError):
            g = None
        assert time.monotonic() < end, g
        time.sleep(1)


def test_flapping_client_resumes_over_the_socket(api, base_url):
    """A client that drops its socket every second while the conversation
    is busy, and reconnects with resume from the last position it saw, sees
    every message exactly once from the socket alone: replayed after each
    reconnect, live in between. REST is used only where the server says
    resume.gap."""
    import asyncio
    from parley_client import Socket, pos_key, ws_url
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)["id"]
    first = alice.send(conv, "flap start")["position"]
    sender = RetryingSender(alice, conv, "flap", 80, rate=25).start()
    t_start = time.monotonic()

    async def flapper():
        got, gaps, last, reconnects = [], 0, first, 0
        end = time.monotonic() + 60
        while time.monotonic() < end and len({p for p, _ in got}) < 80:
            async with Socket(ws_url(base_url), bob.access, resume={conv: last}) as s:
                reconnects += 1
                await asyncio.sleep(1.0)
                for f in list(s.frames):
                    if f.get("type") == "resume.gap" and f["conversation_id"] == conv:
                        gaps += 1
                        page = bob.history(conv, after=f["from"], limit=200)
                        got += [(m["position"], m["text"]) for m in page["messages"]]
                    if f.get("type") == "message.created" and f["conversation_id"] == conv:
                        got.append((f["position"], f["message"]["text"]))
                        if pos_key(f["position"]) > pos_key(last):
                            last = f["position"]
        return got, gaps, reconnects, time.monotonic()

    got, gaps, reconnects, t_done = asyncio.run(flapper())
    sender.join()
    texts = [t for _, t in got if t.startswith("flap ")]
    want = [f"flap {i}" for i in range(80)]
    lost = len(set(want) - set(texts))
    dups = len(texts) - len(set(texts))
    last_ack = max(sender.acked, key=lambda a: pos_key(a["position"]))["position"]
    result = {"scenario": "flapping client, socket resume", "sent": 80,
              "acknowledged": len(sender.acked), "delivered": len(texts), "lost": lost,
              "duplicates": dups, "reconnects": reconnects, "resume_gaps": gaps,
              "recovery_s": round(t_done - t_start, 2)}
    record(result)
    assert (lost, dups) == (0, 0), result
    assert texts == want, result  # in order too
    assert gaps == 0, result  # a second's worth of messages is well within the limits
    assert pos_key(last_ack) <= pos_key(max((p for p, _ in got), key=pos_key))
