"""Fault 5: latency and dropped connections between the services and
Kafka or Postgres.

A stack of its own runs with a TCP proxy (netproxy.py) in front of Kafka
(the broker advertises the proxy's port, so every client goes through it
after bootstrap, the broker's own admin clients included) and in front of
Postgres (every service's DSN names the proxy). While a client that
retries as a real one does streams sends into a group whose three members
each hold a WebSocket, the proxy first adds 500 ms to every chunk for a
while, then resets every connection a few times, refusing new ones for a
second each time. Then the history and each receiver must hold every
acknowledged message exactly once, in order. Figures (sent, acknowledged,
stored, delivered per member, lost, duplicates, recovery) go to stdout and
.parley/resilience.json."""
import time

import pytest

import parley_stack as ps
from conftest import private_stack
from faultkit import Receivers, RetryingSender, check
from netproxy import FaultProxy
from parley_client import Api

LATENCY_S = 0.5
LATENCY_FOR_S = 5.0
DROPS = 3
DROP_EVERY_S = 2.0
REFUSE_S = 1.0


@pytest.fixture(scope="module")
def net():
    kafka, pg, kafka_proxy, pg_proxy = (ps.free_port() for _ in range(4))
    proxies = {"kafka": FaultProxy(kafka, kafka_proxy).start(),
               "postgres": FaultProxy(pg, pg_proxy).start()}
    try:
        with private_stack(kafka_port=kafka, kafka_advertised_port=kafka_proxy,
                           pg_port=pg, pg_client_port=pg_proxy) as stack:
            yield stack, proxies
    finally:
        for p in proxies.values():
            p.stop()


def _group(owner, *members):
    r = owner.post("/api/v1/conversations", {"kind": "group", "title": "netfaults",
                                             "member_ids": [m.id for m in members]})
    assert r.status_code == 201, r.text
    return r.json()["conversation"]["id"]


@pytest.mark.parametrize("target", ["kafka", "postgres", "both"])
def test_latency_then_dropped_connections(net, target):
    stack, proxies = net
    hit = list(proxies.values()) if target == "both" else [proxies[target]]
    before = {n: p.stats() for n, p in proxies.items()}
    api = Api(stack.config.public_url)
    alice, bob, carol = api.user(), api.user(), api.user()
    conv = _group(alice, bob, carol)
    since = alice.send(conv, "receivers start")["position"]
    rx = Receivers(stack.config.public_url, [alice, bob, carol], conv, since).start()
    sender = RetryingSender(alice, conv, f"net-{target}", 150, rate=10).start()
    try:
        time.sleep(2.0)
        t_lat = time.monotonic()
        for p in hit:
            p.delay_s = LATENCY_S
        time.sleep(LATENCY_FOR_S)
        for p in hit:
            p.delay_s = 0.0
        acks_in_latency = len([a for a in sender.ack_times if a >= t_lat])
        for _ in range(DROPS):
            for p in hit:
                p.drop(refuse_s=REFUSE_S)
            time.sleep(DROP_EVERY_S)
        t_end = time.monotonic() - DROP_EVERY_S + REFUSE_S  # the last refusal's end
        sender.join()
        recovery = sender.first_ack_after(t_end)
        assert recovery is not None, "no send was acknowledged after the faults"
        after = {n: p.stats() for n, p in proxies.items()}
        extra = {"faults": f"{LATENCY_S * 1000:.0f} ms for {LATENCY_FOR_S:.0f} s, "
                           f"then {DROPS} resets of every connection",
                 "acked_during_latency": acks_in_latency,
                 "connections_reset": {n: after[n]["dropped"] - before[n]["dropped"]
                                       for n in proxies},
                 "connections_refused": {n: after[n]["refused"] - before[n]["refused"]
                                         for n in proxies}}
        check(f"network faults: {target}", alice, conv, sender, recovery, receivers=rx,
              extra=extra)
    finally:
        rx.stop()
