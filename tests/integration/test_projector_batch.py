"""The projector applies a run of message.created events as one statement
(cmd/projector/projector_msgrun.c). A poison event in the middle of such a
run must be skipped and counted while every neighbour in the same batch is
stored exactly once, with replies, duplicates and mentions as if the events
had been applied one by one.

The records go straight into parley.events with Kafka's console producer
while the projector is paused, so they reach it together, in one batch. The
console producer partitions keys differently from librdkafka, so the
conversation gets no other messages: its messages then all sit on one
partition, and their offsets cannot collide with API-produced ones."""
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
    conv = alice.direct_with(bob)["id"]
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
