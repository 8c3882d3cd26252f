"""The projector applies a run of message.created events as one statement
(cmd/projector/projector_msgrun.c). A poison event in the middle of such a
run must be skipped and counted while every neighbour in the same batch is
stored exactly once, with replies, duplicates and mentions as if the events
had been applied one by one.

The records go straight into parley.events with Kafka's console producer
while the projector is paused, so they reach it together, in one batch. The
console producer partitions keys with murmur2 where librdkafka uses CRC32,
so the test picks a conversation that both put on the same partition: a
conversation's whole log then sits on one partition, as the system
promises, and a replay (test_replay.py) rebuilds it the same way. The
conversation gets no other messages, so the offsets the API produces
around the test's records cannot collide with them."""
import json
import os
import re
import signal
import subprocess
import time
import uuid

import requests


def _event(conv, actor, data, ts=None):
    return {"v": 1, "id": str(uuid.uuid4()), "type": "message.created",
            "ts": ts if ts is not None else int(time.time() * 1000),
            "actor": actor, "conversation_id": conv, "data": data}


def _produce(stack, key, events):
    cfg = stack.config
    lines = "".join(f"{key}\t{json.dumps(e, separators=(',', ':'))}\n" for e in events)
    env = dict(os.environ, PARLEY_KAFKA_PORT=str(cfg.kafka_port))
    out = subprocess.run(
        ["bash", "-c", f'. "{cfg.kafka_scripts}/env.sh"; kafka_tool '
         'org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$KAFKA_BOOTSTRAP" '
         '--topic parley.events --property parse.key=true --property key.separator="	" '
         '--producer-property acks=all'],
        input=lines, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def _murmur2_partition(key, partitions):
    """The partition the Java client's default partitioner picks for key."""
    data, m, h = key.encode(), 0x5BD1E995, (0x9747B28C ^ len(key.encode())) & 0xFFFFFFFF
    n4 = len(data) // 4 * 4
    for i in range(0, n4, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    rest = data[n4:]
    for j in reversed(range(len(rest))):
        h ^= rest[j] << (8 * j)
    if rest:
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return (h & 0x7FFFFFFF) % partitions


def _conversation_on_one_partition(alice, bob, partitions=32):
    """A group of alice and bob whose id both producers key to one partition."""
    for _ in range(40 * partitions):
        r = alice.post("/api/v1/conversations", {"kind": "group", "title": "run",
                                                 "member_ids": [bob.id]})
        assert r.status_code == 201, r.text
        conv = r.json()["conversation"]
        part = int(conv["position"][1:].split(".o")[0])
        if _murmur2_partition(conv["id"], partitions) == part:
            return conv["id"]
    raise AssertionError("no conversation id that murmur2 and CRC32 put together")


def _rejected(stack):
    port = stack.handle("projector").port
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    m = re.search(r"^projector_events_rejected_total(?:\{\})? (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def _messages(user, conv):
    r = user.get(f"/api/v1/conversations/{conv}/messages", params={"limit": 200})
    assert r.status_code == 200, r.text
    return r.json()["messages"]


def test_poison_in_a_run_is_skipped_and_its_neighbours_stored_once(api, stack):
    alice, bob = api.user(), api.user()
    conv = _conversation_on_one_partition(alice, bob)
    stranger = str(uuid.uuid4())
    mids = [str(uuid.uuid4()) for _ in range(20)]

    def msg(i, **extra):
        return _event(conv, alice.id, {"message_id": mids[i], "client_msg_id": f"run{i}",
                                       "text": f"run {i}", **extra})

    events = [msg(i) for i in range(8)]
    # A reply to a message earlier in the same run, and a redelivered send.
    events.append(msg(8, reply_to=mids[2], mentions=[bob.id, stranger]))
    events.append(msg(3))
    # Two poisons: one the projector refuses before any SQL (no text), one
    # only Postgres refuses (a timestamp out of range), which fails the
    # run's statement and must not take its neighbours down with it.
    events.append(_event(conv, alice.id, {"message_id": str(uuid.uuid4()),
                                          "client_msg_id": "bad1"}))
    events.append(_event(conv, alice.id, {"message_id": str(uuid.uuid4()),
                                          "client_msg_id": "bad2", "text": "bad"},
                         ts=10 ** 18))
    events += [msg(i) for i in range(9, 20)]

    before = _rejected(stack)
    proj = stack.handle("projector")
    proj.kill(signal.SIGSTOP)
    try:
        _produce(stack, conv, events)
    finally:
        proj.kill(signal.SIGCONT)

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        got = _messages(alice, conv)
        if len(got) >= 20 and _rejected(stack) >= before + 2:
            break
        time.sleep(0.3)
    got = _messages(alice, conv)
    assert sorted(m["id"] for m in got) == sorted(mids)
    assert _rejected(stack) == before + 2
    by_id = {m["id"]: m for m in got}
    assert by_id[mids[3]]["client_msg_id"] == "run3"
    assert by_id[mids[8]]["reply_to"] == mids[2]
    assert by_id[mids[8]]["mentions"] == [bob.id]
    # Each row keeps its own event's position (the first of the two for
    # the redelivered one), so log order is message order.
    in_log_order = sorted(got, key=lambda m: int(m["position"].split(".o")[1]))
    assert [m["id"] for m in in_log_order] == mids
    # The conversation's last message is the last one applied.
    r = alice.get(f"/api/v1/conversations/{conv}")
    assert r.status_code == 200, r.text
    assert r.json()["conversation"]["last_message"]["id"] == mids[19]
