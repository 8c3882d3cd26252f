"""Retention tiering end to end: hot history moves into archived snapshots
once it is archived and old enough; pages and search cross the tiers with
the same shapes; archived messages no longer change (409 archived); legal
holds block purge until released; the event archive still verifies."""
import os
import secrets
import subprocess
import time
import urllib.parse

import requests

from test_archive import _admin
from test_messages import wait_conv
from test_replay import _admin as replay_admin


def call(user, method, path, body=None):
    return requests.request(method, user.api.url + path, json=body, headers=user.auth,
                            timeout=15)


def sql(stack, q):
    return stack.postgres.psql(q, db="parley").strip()


def archiver_cli(stack, *args):
    cfg = stack.config
    env = dict(os.environ, PARLEY_PG_DSN=cfg.pg_dsn)
    return subprocess.run([str(cfg.build_dir / "cmd/archiver/parley-archiver"), *args],
                          env=env, capture_output=True, text=True, timeout=60)


def cli_ok(stack, *args):
    r = archiver_cli(stack, *args)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def wait_until(pred, what, timeout=60):
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, f"timed out: {what}"
        time.sleep(0.3)


def post_msg(user, conv_id, text, **extra):
    r = user.post(f"/api/v1/conversations/{conv_id}/messages",
                  {"client_msg_id": secrets.token_hex(8), "text": text, **extra})
    assert r.status_code == 202, r.text
    return r.json()


def page_back(user, conv_id, limit, min_position):
    """Newest to oldest, limit at a time; returns pages in order."""
    out, before = [], None
    while True:
        params = {"limit": limit, "min_position": min_position}
        if before:
            params["before"] = before
        page = user.history(conv_id, **params)
        assert len(page["messages"]) <= limit
        out.append(page)
        if not page["has_more"]:
            return out
        before = page["messages"][0]["position"]


def page_forward(user, conv_id, limit, after):
    """Oldest to newest from the position after."""
    out = []
    while True:
        page = user.history(conv_id, limit=limit, after=after)
        out += page["messages"]
        if not page["has_more"]:
            return out
        after = page["messages"][-1]["position"]


def offset(msg):
    return int(msg["position"].split(".o")[1])


def cold_count(stack, conv_id):
    return int(sql(stack, "SELECT count(*) FROM archive.search "
                          f"WHERE conversation_id = '{conv_id}'"))


def test_tiering_reads_search_edit_hold_purge(api, stack):
    started = time.time()
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    cid = conv["id"]
    wait_conv(alice, cid)
    word = "zyx" + "".join(secrets.choice("bcdfghjklmnpqrstvw") for _ in range(8))

    # First half: 100 messages with an edit, a delete, reactions, a reply.
    first = [post_msg(alice if i % 3 else bob, cid, f"old {i} note") for i in range(100)]
    last = first[-1]["position"]
    alice.history(cid, min_position=last, limit=1)
    mid = [m["message_id"] for m in first]
    r = call(alice, "PATCH", f"/api/v1/conversations/{cid}/messages/{mid[5]}",
             {"text": f"edited five {word}ing"})
    assert r.status_code == 202, r.text
    assert call(alice, "DELETE", f"/api/v1/conversations/{cid}/messages/{mid[7]}"
                ).status_code == 202
    for who, m, e in ((alice, 4, "👍"), (bob, 4, "👍"), (bob, 8, "🎉")):
        r = call(who, "PUT", f"/api/v1/conversations/{cid}/messages/{mid[m]}/reactions/"
                 + urllib.parse.quote(e, safe=""))
        assert r.status_code in (200, 202), r.text
    reply = post_msg(bob, cid, "a reply inside the old half", reply_to=mid[2])
    last = reply["position"]
    before_alice = alice.all_messages(cid, min_position=last)
    before_bob = bob.all_messages(cid, min_position=last)
    assert len(before_alice) == 101

    # A reply made while its target is hot, which stays hot when the
    # target moves: older than 4 s is tiered, the reply is younger.
    time.sleep(6)
    late_reply = post_msg(alice, cid, "replying to an old one", reply_to=mid[1])
    alice.history(cid, min_position=late_reply["position"], limit=1)

    # Tier the first half, then stop tiering this conversation.
    cli_ok(stack, "policy", cid, "--hot-seconds", "4", "--by", "test", "--reason", "tier")
    wait_until(lambda: cold_count(stack, cid) == 101, "first half tiered", 90)
    cli_ok(stack, "policy", cid, "--hot-seconds", "default", "--by", "test",
           "--reason", "stop")
    assert sql(stack, f"SELECT count(*) FROM history.messages WHERE conversation_id='{cid}'"
               ) == "1"
    nsnap = int(sql(stack, f"SELECT count(*) FROM archive.snapshots "
                           f"WHERE conversation_id='{cid}'"))
    assert nsnap >= 2, "the test batch size should split the half into several snapshots"

    # Second half stays hot.
    # Its first message replies to an archived one.
    second = [post_msg(bob if i % 4 else alice, cid, f"new {i} note",
                       **({"reply_to": mid[3]} if i == 0 else {})) for i in range(99)]
    last = second[-1]["position"]
    r = call(alice, "PATCH", f"/api/v1/conversations/{cid}/messages/"
             f"{second[4]['message_id']}", {"text": "edited hot"})
    assert r.status_code == 202
    last = r.json()["position"]

    # Newest to oldest, 50 at a time: every message once, in order, and
    # the archived ones exactly as they were when hot (both viewers).
    for user, before in ((alice, before_alice), (bob, before_bob)):
        pages = page_back(user, cid, 50, last)
        msgs = [m for p in reversed(pages) for m in p["messages"]]
        assert len(msgs) == 201
        assert len({m["id"] for m in msgs}) == 201
        offs = [offset(m) for m in msgs]
        assert offs == sorted(offs)
        assert msgs[:101] == before
        assert msgs[102 + 4]["text"] == "edited hot"
        assert [p["has_more"] for p in pages] == [True, True, True, True, False]
        # A hot reply quotes its archived target.
        assert msgs[101]["id"] == late_reply["message_id"]
        assert msgs[101]["quoted"] == {"id": mid[1], "sender_id": before[1]["sender_id"],
                                      "text": "old 1 note", "deleted": False}
        # A reply made after its target was archived keeps the link.
        assert msgs[102]["reply_to"] == mid[3]
        assert msgs[102]["quoted"] == {"id": mid[3], "sender_id": before[3]["sender_id"],
                                      "text": "old 3 note", "deleted": False}
    start = msgs[0]["position"].split(".o")[0] + f".o{offset(msgs[0]) - 1}"
    assert [m["id"] for m in page_forward(alice, cid, 30, start)] == [m["id"] for m in msgs]
    cold = next(m for m in msgs if m["id"] == mid[4])
    assert cold["reactions"] == [{"emoji": "👍", "count": 2, "me": True}]
    assert msgs[7]["deleted_at"] and msgs[7]["text"] == ""
    assert msgs[100]["quoted"]["id"] == mid[2]
    # around= an archived message crosses tiers as well.
    win = alice.history(cid, around=mid[99], limit=10)
    assert [m["id"] for m in win["messages"]] == [m["id"] for m in msgs[94:104]]
    assert win["has_more_before"] and win["has_more_after"]

    # Search finds a word that only an archived message holds.
    res = alice.get("/api/v1/search", params={"q": word}).json()["results"]
    assert [h["message"]["id"] for h in res] == [mid[5]]
    assert res[0]["message"] == before_alice[5]
    assert "\u0002" in res[0]["highlight"]

    # Archived messages are final.
    path = f"/api/v1/conversations/{cid}/messages/{mid[10]}"
    for method, p, body in (("PATCH", path, {"text": "late"}), ("DELETE", path, None),
                            ("PUT", path + "/reactions/%F0%9F%91%8D", None)):
        r = call(alice, method, p, body)
        assert r.status_code == 409 and r.json()["error"]["code"] == "archived", r.text
    # A send retried after its message was archived is answered as the
    # original, and stored once.
    r = call(alice, "POST", f"/api/v1/conversations/{cid}/messages",
             {"client_msg_id": before_alice[10]["client_msg_id"], "text": "old 10 note"})
    assert r.status_code == 202, r.text
    assert (r.json()["message_id"], r.json()["position"]) == (mid[10], first[10]["position"])

    # A repair replay re-applies the archived events and brings their hot
    # rows back: reads still show each message once, and the next tiering
    # pass drops them instead of snapshotting them twice.
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started - 5))
    r = replay_admin(stack, "replay", "--from", since)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(alice.all_messages(cid, min_position=last)) == 201
    wait_until(lambda: sql(stack, "SELECT count(*) FROM history.messages "
                                  f"WHERE conversation_id='{cid}'") == "100",
               "resurrected hot rows dropped", 60)
    assert cold_count(stack, cid) == 101
    assert int(sql(stack, f"SELECT count(*) FROM archive.snapshots "
                          f"WHERE conversation_id='{cid}'")) == nsnap
    assert [m["id"] for m in alice.all_messages(cid)] == [m["id"] for m in msgs]

    # Legal holds block purge, on the conversation and on a user.
    hc = cli_ok(stack, "hold", "conversation", cid, "--by", "legal", "--reason", "case 1")
    hu = cli_ok(stack, "hold", "user", bob.id, "--by", "legal", "--reason", "case 2")
    cli_ok(stack, "policy", cid, "--purge-seconds", "1", "--by", "test", "--reason", "purge")
    time.sleep(4)  # several job intervals
    assert int(sql(stack, f"SELECT count(*) FROM archive.snapshots "
                          f"WHERE conversation_id='{cid}'")) == nsnap
    cli_ok(stack, "release", hc.split()[1], "--by", "legal", "--reason", "closed")
    time.sleep(3)
    assert cold_count(stack, cid) == 101, "the user hold still covers it"
    cli_ok(stack, "release", hu.split()[1], "--by", "legal", "--reason", "closed")
    wait_until(lambda: cold_count(stack, cid) == 0, "purged after release", 60)
    audit = sql(stack, "SELECT action FROM archive.audit WHERE subject LIKE "
                       f"'%{cid}%' OR subject LIKE '%{bob.id}%' ORDER BY id").split()
    assert audit[:2] == ["policy", "policy"] and audit.count("purge") == nsnap
    assert {"hold", "release"} <= set(audit)
    msgs = alice.all_messages(cid)
    assert len(msgs) == 100 and msgs[0]["id"] == late_reply["message_id"]
    assert msgs[0]["quoted"] is None  # its target is gone for good
    assert alice.get("/api/v1/search", params={"q": word}).json()["results"] == []

    # The event archive is the log: purge leaves it whole and verifiable.
    r = _admin(stack, "archive", "verify")
    assert r.returncode == 0, r.stdout + r.stderr


def test_last_message_of_a_fully_archived_conversation(api, stack):
    """A conversation idle past retention still shows its last message, in
    the conversation and in the list, read from its snapshot."""
    alice, bob = api.user(), api.user()
    cid = alice.direct_with(bob)["id"]
    wait_conv(alice, cid)
    sent = [post_msg(bob, cid, f"quiet {i}") for i in range(3)]
    before = alice.history(cid, min_position=sent[-1]["position"], limit=1)["messages"][0]
    cli_ok(stack, "policy", cid, "--hot-seconds", "1", "--by", "test", "--reason", "idle")
    wait_until(lambda: cold_count(stack, cid) == 3, "all tiered", 90)
    assert sql(stack, f"SELECT count(*) FROM history.messages WHERE conversation_id='{cid}'"
               ) == "0"
    r = alice.get(f"/api/v1/conversations/{cid}")
    assert r.status_code == 200, r.text
    assert r.json()["conversation"]["last_message"] == before
    listed = {c["id"]: c for c in alice.get("/api/v1/conversations").json()["conversations"]}
    assert listed[cid]["last_message"]["id"] == sent[-1]["message_id"]


def test_verify_names_a_tampered_or_miscatalogued_snapshot(api, stack):
    """archive verify walks the history snapshots too: a flipped byte, a
    catalog row that disagrees with its snapshot, and two snapshots that
    claim one offset are each reported by name, and the restored archive
    verifies again."""
    from pathlib import Path
    alice, bob = api.user(), api.user()
    cid = alice.direct_with(bob)["id"]
    wait_conv(alice, cid)
    for batch in range(2):  # two tiering rounds: two snapshots
        sent = [post_msg(bob, cid, f"kept {batch}.{i}") for i in range(3)]
        alice.history(cid, min_position=sent[-1]["position"], limit=1)
        cli_ok(stack, "policy", cid, "--hot-seconds", "1", "--by", "test", "--reason", "v")
        wait_until(lambda n=3 * (batch + 1): cold_count(stack, cid) == n, "tiered", 90)
    rows = sql(stack, "SELECT id, store_key, first_offset, last_offset FROM archive.snapshots "
                      f"WHERE conversation_id='{cid}' ORDER BY first_offset").splitlines()
    assert len(rows) >= 2, rows
    (id1, key1, _, last1), (id2, key2, first2, _) = [r.split("|") for r in rows[:2]]
    assert _admin(stack, "archive", "verify").returncode == 0

    path = next(Path(stack.config.data_dir / "archive").rglob(key1))
    original = path.read_bytes()
    data = bytearray(original)
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    try:
        r = _admin(stack, "archive", "verify")
        assert r.returncode == 1 and f"tampered: snapshot {key1}" in r.stdout, r.stdout
    finally:
        path.write_bytes(original)

    sql(stack, f"UPDATE archive.snapshots SET first_offset = {last1} WHERE id = {id2}")
    try:
        r = _admin(stack, "archive", "verify")
        assert r.returncode == 1, r.stdout
        assert f"corrupt: snapshot {key2}" in r.stdout, r.stdout
        assert f"overlap: snapshots {key1} and {key2} of conversation {cid}" in r.stdout
    finally:
        sql(stack, f"UPDATE archive.snapshots SET first_offset = {first2} WHERE id = {id2}")
    r = _admin(stack, "archive", "verify")
    assert r.returncode == 0, r.stdout
