"""Exports (parley-media): background jobs with progress, ZIP of JSON plus
an offline viewer, owner-only status and ranged downloads, the account
export, limits, and a job that survives a SIGKILL of the media service."""
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zipfile
from pathlib import Path

import pytest
import requests

from test_attachments import png, uploaded
from test_messages import call, msg_path, react_path, send, wait_conv
from test_tiering import cli_ok, cold_count, post_msg, sql, wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "export"))
from parley_export import read_export  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def create(user, body):
    return user.post("/api/v1/exports", body)


def wait_done(user, export_id, patience=90):
    end, seen = time.monotonic() + patience, []
    while True:
        r = user.get(f"/api/v1/exports/{export_id}")
        if r.status_code == 503 and time.monotonic() < end:  # media restarting
            time.sleep(0.2)
            continue
        assert r.status_code == 200, r.text
        st = r.json()
        seen.append(st["progress"]["done"])
        if st["state"] in ("done", "failed") or time.monotonic() > end:
            break
        time.sleep(0.2)
    assert st["state"] == "done", st
    return st, seen


def download(user, export_id, **headers):
    return requests.get(f"{user.api.url}/api/v1/exports/{export_id}/download",
                        headers={**user.auth, **headers}, timeout=60)


def export_of(user, body):
    r = create(user, body)
    assert r.status_code == 202, r.text
    st = r.json()
    assert st["state"] in ("queued", "running") and st["download_url"] is None
    done, _ = wait_done(user, st["export_id"])
    got = download(user, st["export_id"])
    assert got.status_code == 200, got.text
    assert got.headers["Content-Type"] == "application/zip"
    assert len(got.content) == done["size"]
    return done, got.content


def rendered_dom(archive):
    """Unpacks the archive and lets headless chromium run index.html from
    disk (no server, no network); returns the DOM it ends with."""
    with tempfile.TemporaryDirectory() as d:
        zipfile.ZipFile(__import__("io").BytesIO(archive)).extractall(d)
        out = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--user-data-dir=" + os.path.join(d, ".profile"), "--dump-dom",
             "file://" + os.path.join(d, "index.html")],
            capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def busy_conversation(alice, bob):
    """Edits, a deletion, a reply, reactions and an attachment."""
    conv = alice.direct_with(bob)
    cid = conv["id"]
    marker = "export-marker-" + secrets.token_hex(4)
    first = send(alice, cid, f"{marker} <b>not markup</b> & more")
    edited = send(bob, cid, "typo")
    assert call(bob, "PATCH", msg_path(cid, edited["message_id"]),
                {"text": "fixed ✓"}).status_code == 202
    gone = send(alice, cid, "delete me")
    assert call(alice, "DELETE", msg_path(cid, gone["message_id"])).status_code == 202
    send(bob, cid, "a reply", reply_to=first["message_id"])
    for who, emoji in ((bob, "👍"), (alice, "👍"), (bob, "🎉")):
        assert call(who, "PUT", react_path(cid, first["message_id"], emoji)).status_code == 202
    pic = png(5, 4)
    att = uploaded(alice, pic, filename="snap shot#1.png")
    last = send(alice, cid, "with a picture", attachment_ids=[att["id"]])
    alice.history(cid, min_position=last["position"], limit=1)
    # Wait until every write above is projected: the last one was a send.
    return cid, marker, att, pic


def test_conversation_export_round_trip_range_and_viewer(api):
    alice, bob = api.user(), api.user()
    cid, marker, att, pic = busy_conversation(alice, bob)
    done, archive = export_of(alice, {"conversation_id": cid})
    assert done["scope"] == "conversation" and done["conversation_id"] == cid
    assert done["progress"]["done"] == done["progress"]["total"] == 6  # 5 messages + 1 file
    assert done["download_url"] == f"/api/v1/exports/{done['export_id']}/download"

    # Round trip: what the archive holds is what the read API shows.
    exp = read_export(archive)
    assert exp["manifest"]["user_id"] == alice.id
    assert exp["conversations"][cid]["messages"] == alice.all_messages(cid)
    assert exp["conversations"][cid]["conversation"] == \
        alice.get(f"/api/v1/conversations/{cid}").json()["conversation"]
    msgs = exp["conversations"][cid]["messages"]
    assert [m["deleted_at"] is not None for m in msgs] == [False, False, True, False, False]
    assert msgs[1]["text"] == "fixed ✓" and msgs[1]["edited_at"]
    assert msgs[3]["reply_to"] == msgs[0]["id"]
    assert {r["emoji"]: r["count"] for r in msgs[0]["reactions"]} == {"👍": 2, "🎉": 1}
    assert exp["attachments"][att["id"]]["data"] == pic
    assert exp["attachments"][att["id"]]["path"] == f"attachments/{att['id']}/snap shot#1.png"
    assert {u["username"] for u in exp["users"].values()} == {alice.username, bob.username}

    # Ranged requests: a middle slice, then resuming from an offset.
    eid = done["export_id"]
    part = download(alice, eid, Range="bytes=10-99")
    assert part.status_code == 206, part.text
    assert part.headers["Content-Range"] == f"bytes 10-99/{len(archive)}"
    assert part.content == archive[10:100]
    rest = download(alice, eid, Range=f"bytes={len(archive) - 7}-",
                    **{"If-Range": part.headers["ETag"]})
    assert rest.status_code == 206 and rest.content == archive[-7:]
    stale = download(alice, eid, Range="bytes=0-0", **{"If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == archive
    beyond = download(alice, eid, Range=f"bytes={len(archive)}-")
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == f"bytes */{len(archive)}"

    # The viewer renders from disk, and message text stays text.
    dom = rendered_dom(archive)
    assert marker in dom and "&lt;b&gt;not markup&lt;/b&gt;" in dom
    assert "fixed ✓" in dom and "message deleted" in dom and "delete me" not in dom
    assert "snap%20shot%231.png" in dom


def test_only_the_requester_sees_an_export(api):
    alice, bob, carol = api.user(), api.user(), api.user()
    cid = alice.direct_with(bob)["id"]
    send(alice, cid, "hi")
    assert create(carol, {"conversation_id": cid}).status_code == 404
    assert create(carol, {"conversation_id": secrets.token_hex(16)}).status_code == 400
    assert create(carol, {"scope": "everything"}).status_code == 400
    r = create(alice, {"conversation_id": cid})
    assert r.status_code == 202, r.text
    eid = r.json()["export_id"]
    wait_done(alice, eid)
    for who in (bob, carol):  # bob is in the conversation, but it is alice's export
        assert who.get(f"/api/v1/exports/{eid}").status_code == 404
        assert download(who, eid).status_code == 404
        assert download(who, eid).json()["error"]["code"] == "not_found"
    assert requests.get(f"{alice.api.url}/api/v1/exports/{eid}", timeout=15).status_code == 401
    assert alice.get("/api/v1/exports/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12) \
        .status_code == 404


def test_account_export_holds_own_messages_everywhere(api):
    alice, bob, carol = api.user(), api.user(), api.user()
    with_bob = alice.direct_with(bob)["id"]
    with_carol = alice.direct_with(carol)["id"]
    mine = [send(alice, with_bob, "to bob")["message_id"],
            send(alice, with_carol, "to carol")["message_id"]]
    send(bob, with_bob, "bob's own words")
    unsent = uploaded(alice, b"just a file", filename="notes.txt")
    last = send(alice, with_carol, "again")
    mine.append(last["message_id"])
    alice.history(with_carol, min_position=last["position"], limit=1)

    done, archive = export_of(alice, {"scope": "account"})
    assert done["scope"] == "account" and done["conversation_id"] is None
    exp = read_export(archive)
    assert exp["account"]["username"] == alice.username
    assert set(exp["conversations"]) == {with_bob, with_carol}
    got = [m for c in exp["conversations"].values() for m in c["messages"]]
    assert sorted(m["id"] for m in got) == sorted(mine)
    assert all(m["sender_id"] == alice.id for m in got)
    for cid, c in exp["conversations"].items():
        rest = [m for m in alice.all_messages(cid) if m["sender_id"] == alice.id]
        assert c["messages"] == rest
        assert {m["user_id"] for m in c["conversation"]["members"]} >= {alice.id}
    assert exp["attachments"][unsent["id"]]["data"] == b"just a file"
    assert "bob's own words" not in rendered_dom(archive)


def test_export_creation_is_rate_limited(api):
    loner = api.user()
    for _ in range(5):  # PARLEY_EXPORT_RATE_BURST
        r = create(loner, {"scope": "account"})
        assert r.status_code == 202, r.text
        wait_done(loner, r.json()["export_id"])
    r = create(loner, {"scope": "account"})
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert r.headers["Retry-After"]


def _restart_media(stack, env):
    h = stack.handle("media")
    h.stop()
    h.spec.env.update(env)
    h.start()
    assert h.wait_ready(60), "media did not come back"
    return h


def test_export_finishes_after_media_sigkill(api, stack):
    alice, bob = api.user(), api.user()
    cid = alice.direct_with(bob)["id"]
    for i in range(60):
        r = alice.post(f"/api/v1/conversations/{cid}/messages",
                       {"client_msg_id": f"k{i}", "text": f"line {i}"})
        assert r.status_code == 202, r.text
    alice.history(cid, min_position=r.json()["position"], limit=1)
    saved = dict(stack.handle("media").spec.env)
    slow = {"PARLEY_EXPORT_PACE_MS": "60", "PARLEY_EXPORT_LEASE_S": "3"}
    h = _restart_media(stack, slow)
    try:
        r = create(alice, {"conversation_id": cid})
        assert r.status_code == 202, r.text
        eid = r.json()["export_id"]
        # A second one queues behind it; a third is over PARLEY_EXPORT_MAX_ACTIVE.
        second = create(alice, {"scope": "account"})
        assert second.status_code == 202, second.text
        third = create(alice, {"scope": "account"})
        assert third.status_code == 429 and third.json()["error"]["code"] == "too_many_exports"

        end = time.monotonic() + 30
        while True:
            st = alice.get(f"/api/v1/exports/{eid}").json()
            if (st["state"] == "running" and st["progress"]["done"] >= 10) \
                    or time.monotonic() > end:
                break
            time.sleep(0.1)
        assert st["state"] == "running" and 10 <= st["progress"]["done"] < 60, st
        old = h.pid
        h.kill(signal.SIGKILL)
        assert h.wait_restarted(old, 60) and h.wait_ready(60), "media was not restarted"

        done, seen = wait_done(alice, eid, patience=120)
        assert done["progress"] == {"done": 60, "total": 60}
        archive = download(alice, eid).content
        assert read_export(archive)["conversations"][cid]["messages"] == \
            alice.all_messages(cid)
        wait_done(alice, second.json()["export_id"], patience=120)
    finally:
        h.spec.env.clear()
        h.spec.env.update(saved)
        _restart_media(stack, {})


def test_archived_history_downloads_and_exports(api, stack):
    """Half a conversation is tiered into history snapshots: an attachment
    of an archived message still downloads for members (not outsiders), and
    exports hold both tiers exactly as the read API pages them."""
    alice, bob, carol = api.user(), api.user(), api.user()
    cid = alice.direct_with(bob)["id"]
    wait_conv(alice, cid)
    pic, hot_pic = png(7, 3), png(2, 9)
    att = uploaded(bob, pic, filename="old one.png")
    old = [post_msg(bob if i % 3 == 0 else alice, cid, f"old {i}",
                    **({"attachment_ids": [att["id"]]} if i == 6 else {}))
           for i in range(45)]
    alice.history(cid, min_position=old[-1]["position"], limit=1)
    assert call(bob, "PUT", react_path(cid, old[2]["message_id"], "👍")).status_code == 202
    r = call(alice, "PATCH", msg_path(cid, old[4]["message_id"]), {"text": "old 4, edited"})
    assert r.status_code == 202, r.text
    alice.history(cid, min_position=r.json()["position"], limit=1)

    # A reply made while its target is hot, young enough to stay hot: tier
    # what is older than 8 s, then stop tiering this conversation.
    time.sleep(9)
    reply = post_msg(bob, cid, "a reply to the archive", reply_to=old[1]["message_id"])
    alice.history(cid, min_position=reply["position"], limit=1)
    cli_ok(stack, "policy", cid, "--hot-seconds", "8", "--by", "test", "--reason", "tier")
    wait_until(lambda: cold_count(stack, cid) == 45, "old half tiered", 90)
    cli_ok(stack, "policy", cid, "--hot-seconds", "default", "--by", "test",
           "--reason", "stop")
    assert sql(stack, "SELECT count(*) FROM history.message_attachments "
                      f"WHERE attachment_id = '{att['id']}'") == "0"

    # The hot half, with an attachment too.
    hot_att = uploaded(alice, hot_pic, filename="new.png")
    for i in range(9):
        post_msg(alice if i % 2 else bob, cid, f"new {i}",
                 **({"attachment_ids": [hot_att["id"]]} if i == 3 else {}))
    last = send(alice, cid, "the newest")
    everything = alice.all_messages(cid, min_position=last["position"])
    assert len(everything) == 56 and len({m["id"] for m in everything}) == 56
    assert everything[45]["quoted"]["id"] == old[1]["message_id"], everything[45]

    # Downloads: a member who did not upload it, then an outsider.
    got = requests.get(f"{alice.api.url}/api/v1/attachments/{att['id']}",
                       headers=alice.auth, timeout=15)
    assert got.status_code == 200 and got.content == pic, got.text
    nope = requests.get(f"{carol.api.url}/api/v1/attachments/{att['id']}",
                        headers=carol.auth, timeout=15)
    assert nope.status_code == 404 and nope.json()["error"]["code"] == "not_found"

    # A conversation export: every message once, as the read API pages them.
    done, archive = export_of(alice, {"conversation_id": cid})
    assert done["progress"] == {"done": 58, "total": 58}  # 56 messages + 2 files
    exp = read_export(archive)
    assert exp["conversations"][cid]["messages"] == everything
    assert exp["manifest"]["message_count"] == 56
    assert exp["attachments"][att["id"]]["data"] == pic
    assert exp["attachments"][hot_att["id"]]["data"] == hot_pic

    # An account export: the user's own messages of both tiers.
    done, archive = export_of(alice, {"scope": "account"})
    assert done["progress"]["done"] == done["progress"]["total"]
    mine = [m for m in everything if m["sender_id"] == alice.id]
    got = read_export(archive)["conversations"][cid]["messages"]
    assert got == mine
    assert old[1]["message_id"] in {m["id"] for m in got}
