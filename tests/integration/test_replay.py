"""parley-admin replay: a rebuilt history projection equals the live one,
is swapped in while the projector keeps running (no event lost or doubled
across the swap), a repair from a time restores deleted rows, and events
that Kafka's retention dropped are read back from the archive."""
import datetime
import json
import os
import re
import subprocess
import threading
import time
import urllib.parse

import requests

THUMBS = urllib.parse.quote("👍")
HEART = urllib.parse.quote("❤")


def _admin(stack, *args):
    cfg = stack.config
    env = dict(os.environ, PARLEY_PG_DSN=cfg.pg_dsn, PARLEY_KAFKA_BROKERS=cfg.kafka_brokers,
               PARLEY_ARCHIVE_DIR=str(cfg.data_dir / "archive"), PARLEY_PROJECTOR_BATCH="50")
    return subprocess.run([str(cfg.build_dir / "cmd/admin/parley-admin"), *args], env=env,
                          capture_output=True, text=True, timeout=300)


def _psql(stack, sql):
    return stack.postgres.psql(sql, db="parley").strip()


def _checksums(out):
    m = re.search(r"^checksum history=(\w+) history_rebuild=(\w+) (equal|MISMATCH)$", out,
                  re.M)
    assert m, out
    return m.group(1), m.group(2)


def _call(user, method, path, body=None):
    r = requests.request(method, user.api.url + path, json=body, headers=user.auth,
                         timeout=30)
    assert r.status_code in (200, 201, 202), f"{method} {path}: {r.status_code} {r.text}"
    return r.json()


def _workload(api):
    """Every kind of event: creation, invite and join, sends, a reply,
    reactions added and removed, an edit, a delete, a read marker, a role
    change, a removal. Returns the users, conversations and last position."""
    ann, ben, cat, dan = api.user(), api.user(), api.user(), api.user()
    cid = _call(ann, "POST", "/api/v1/conversations",
                {"kind": "group", "title": "Replay", "member_ids": [ben.id, dan.id]}
                )["conversation"]["id"]
    end = time.monotonic() + 60  # a fresh stack's projector may still be joining
    while ann.get(f"/api/v1/conversations/{cid}").status_code != 200:
        assert time.monotonic() < end, "group not projected in 60 s"
        time.sleep(0.2)
    code = _call(ann, "POST", f"/api/v1/conversations/{cid}/invites", {"max_uses": 2})["code"]
    _call(cat, "POST", f"/api/v1/invites/{code}/accept")
    first = ann.send(cid, "hello @" + ben.username)
    _wait_projected(ann, cid, first["position"])  # edits and reactions find it
    base = f"/api/v1/conversations/{cid}/messages/{first['message_id']}"
    reply = _call(cat, "POST", f"/api/v1/conversations/{cid}/messages",
                  {"client_msg_id": "r1", "text": "hi all", "reply_to": first["message_id"]})
    _call(ben, "PUT", f"{base}/reactions/{THUMBS}")
    _call(cat, "PUT", f"{base}/reactions/{HEART}")
    _call(cat, "DELETE", f"{base}/reactions/{HEART}")
    _call(ann, "PATCH", base, {"text": "hello everyone"})
    doomed = ann.send(cid, "to be deleted")
    _wait_projected(ann, cid, doomed["position"])
    _call(ann, "DELETE", f"/api/v1/conversations/{cid}/messages/{doomed['message_id']}")
    _call(ben, "POST", f"/api/v1/conversations/{cid}/read", {"position": reply["position"]})
    _call(ann, "PATCH", f"/api/v1/conversations/{cid}/members/{ben.id}", {"role": "admin"})
    _call(ann, "DELETE", f"/api/v1/conversations/{cid}/members/{dan.id}")
    direct = ann.direct_with(cat)
    last = None
    for i in range(12):
        last = (ann if i % 2 else cat).send(direct["id"], f"direct {i}")
    last = ann.send(cid, "the end")["position"]
    for c in (cid, direct["id"]):  # both projected before anything reads
        ann.history(c, min_position=last if c == cid else None, limit=1)
    return [ann, ben, cat, dan], [cid, direct["id"]], last


def _snapshot(users, convs):
    """What the read API answers each user: conversation list and pages."""
    out = {}
    for u in users:
        out[u.id] = {"list": u.get("/api/v1/conversations").json()}
        for c in convs:
            r = u.get(f"/api/v1/conversations/{c}/messages", params={"limit": 200})
            out[u.id][c] = (r.status_code, r.json())
    return out


def _wait_projected(user, conv, position):
    user.history(conv, min_position=position, limit=1)


def test_rebuild_equals_live_and_swaps_in_while_sends_continue(api, stack):
    users, convs, _ = _workload(api)
    ann, ben, cat = users[:3]
    r = _admin(stack, "replay", "--verify")
    assert r.returncode == 0, r.stdout + r.stderr
    live0, rebuilt0 = _checksums(r.stdout)
    assert live0 == rebuilt0
    before = _snapshot(users, convs)

    # Corrupt the live projection: the verify must notice, and the
    # rebuild must still reproduce the checksum from before.
    _psql(stack, f"UPDATE history.messages SET text = 'corrupt' WHERE conversation_id = "
                 f"'{convs[1]}'; DELETE FROM history.reactions; "
                 f"DELETE FROM history.members WHERE user_id = '{ben.id}'")
    r = _admin(stack, "replay", "--verify")
    assert r.returncode == 1, r.stdout + r.stderr
    live1, rebuilt1 = _checksums(r.stdout)
    assert live1 != live0 and rebuilt1 == live0
    assert "DIFFERENT" in r.stdout

    # Swap while Ann keeps sending: the projector must keep projecting
    # into whichever schema is "history" at the time, with no gap.
    sent, stop = [], threading.Event()

    def sender():
        i = 0
        while not stop.is_set() or i < 20:
            sent.append(ann.send(convs[1], f"during swap {i}"))
            i += 1
            time.sleep(0.05)

    t = threading.Thread(target=sender)
    t.start()
    try:
        r = _admin(stack, "replay", "--from", "earliest")
    finally:
        stop.set()
        t.join()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "swapped:" in r.stdout
    old = re.search(r"kept as (history_old_\d+)", r.stdout).group(1)
    sent += [ann.send(convs[1], f"after swap {i}") for i in range(5)]
    _wait_projected(ann, convs[1], sent[-1]["position"])

    msgs = ann.all_messages(convs[1])
    ids = [m["id"] for m in msgs]
    assert len(ids) == len(set(ids)), "a message was projected twice"
    for s in sent:
        assert s["message_id"] in ids, f"{s['position']} lost across the swap"
    assert [m["position"] for m in msgs if m["id"] in {s["message_id"] for s in sent}] == \
        [s["position"] for s in sent]
    assert "corrupt" not in {m.get("text") for m in msgs}

    # The group saw no new events: every user's view is as before.
    after = _snapshot(users, [convs[0]])
    for u in users:
        assert after[u.id][convs[0]] == before[u.id][convs[0]], u.username
    assert _admin(stack, "replay", "--verify").returncode == 0
    _psql(stack, f"DROP SCHEMA {old} CASCADE")


def test_repair_from_a_time_restores_deleted_rows(api, stack):
    since = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1))
    users, convs, last = _workload(api)
    before = _snapshot(users, convs)
    _psql(stack, f"DELETE FROM history.reactions WHERE message_id IN (SELECT id FROM "
                 f"history.messages WHERE conversation_id = '{convs[0]}'); "
                 f"DELETE FROM history.mentions WHERE conversation_id = '{convs[0]}'; "
                 f"UPDATE history.conversations SET last_message_id = NULL "
                 f"WHERE id = '{convs[0]}'; "
                 f"DELETE FROM history.messages WHERE conversation_id = '{convs[0]}' "
                 f"AND reply_to IS NOT NULL; "
                 f"DELETE FROM history.messages WHERE conversation_id = '{convs[0]}'")
    assert _snapshot(users, convs) != before
    r = _admin(stack, "replay", "--from", since.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "repaired history" in r.stdout
    assert _snapshot(users, convs) == before
    assert _admin(stack, "replay", "--verify").returncode == 0

    bad = _admin(stack, "replay", "--from", "yesterday")
    assert bad.returncode == 2 and "RFC 3339" in bad.stderr


def _delete_records(stack, offsets):
    cfg = stack.config
    spec = cfg.data_dir / "delete-records.json"
    spec.write_text(json.dumps({"version": 1, "partitions": [
        {"topic": "parley.events", "partition": p, "offset": o} for p, o in offsets.items()]}))
    env = dict(os.environ, PARLEY_KAFKA_PORT=str(cfg.kafka_port))
    out = subprocess.run(
        ["bash", "-c", f'. "{cfg.kafka_scripts}/env.sh"; kafka_tool '
         f'org.apache.kafka.tools.DeleteRecordsCommand --bootstrap-server "$KAFKA_BOOTSTRAP" '
         f'--offset-json-file "{spec}"'], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_rebuild_reads_what_retention_dropped_from_the_archive(api, stack):
    users, convs, last = _workload(api)
    part = int(last[1:].split(".o")[0])
    end = time.monotonic() + 60
    while True:  # the archiver has sealed everything sent so far
        rows = _psql(stack, "SELECT a.partition, least(a.next_offset, h.next_offset) FROM "
                            "archive.offsets a JOIN history.offsets h USING (topic, partition) "
                            "WHERE a.topic = 'parley.events'")
        upto = {int(p): int(o) for p, o in (x.split("|") for x in rows.splitlines() if x)}
        if upto.get(part, 0) > int(last.split(".o")[1]):
            break
        assert time.monotonic() < end, "not archived in 60 s"
        time.sleep(0.5)
    before = _snapshot(users, convs)
    out = _delete_records(stack, {p: o for p, o in upto.items() if o > 0})
    assert re.search(rf"parley\.events-{part}\s+low_watermark: [1-9]", out), out

    r = _admin(stack, "replay", "--verify")
    assert r.returncode == 0, r.stdout + r.stderr
    archived = int(re.search(r"\((\d+) from the archive", r.stdout).group(1))
    assert archived > 0, r.stdout

    # A tampered segment is refused, never replayed.
    key = _psql(stack, "SELECT store_key FROM archive.segments WHERE topic = 'parley.events' "
                       f"AND partition = {part} ORDER BY range_start LIMIT 1")
    path = next((stack.config.data_dir / "archive").rglob(key))
    original = path.read_bytes()
    path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    try:
        r = _admin(stack, "replay", "--verify")
        assert r.returncode == 2 and "does not match its recorded sha256" in r.stderr, r.stderr
    finally:
        path.write_bytes(original)

    r = _admin(stack, "replay")
    assert r.returncode == 0, r.stdout + r.stderr
    old = re.search(r"kept as (history_old_\d+)", r.stdout).group(1)
    assert _snapshot(users, convs) == before
    sent = users[0].send(convs[0], "after the archive rebuild")
    got = users[1].history(convs[0], min_position=sent["position"], limit=5)["messages"]
    assert [m["id"] for m in got].count(sent["message_id"]) == 1
    _psql(stack, f"DROP SCHEMA {old} CASCADE")
