"""Message features end to end: edit, delete for everyone, replies,
reactions, mentions, text limits and the around= history window."""
import asyncio
import secrets
import time
import urllib.parse

import requests

from parley_client import Socket, ws_url


def call(user, method, path, body=None):
    return requests.request(method, user.api.url + path, json=body, headers=user.auth,
                            timeout=15)


def msg_path(conv_id, mid, suffix=""):
    return f"/api/v1/conversations/{conv_id}/messages/{mid}{suffix}"


def react_path(conv_id, mid, emoji):
    return msg_path(conv_id, mid, "/reactions/" + urllib.parse.quote(emoji, safe=""))


def wait_conv(user, conv_id, patience=15):
    """Creation normally waits for its projection; under load it may not."""
    end = time.monotonic() + patience
    while user.get(f"/api/v1/conversations/{conv_id}").status_code == 404 \
            and time.monotonic() < end:
        time.sleep(0.1)


def send(user, conv_id, text, **extra):
    """Sends and waits until the message is projected, so that the next
    command (edit, react, reply) finds it in the read model."""
    wait_conv(user, conv_id)
    body = {"client_msg_id": secrets.token_hex(8), "text": text, **extra}
    r = user.post(f"/api/v1/conversations/{conv_id}/messages", body)
    assert r.status_code == 202, r.text
    user.history(conv_id, min_position=r.json()["position"], limit=1)
    return r.json()


def message(user, conv_id, mid, pos):
    msgs = user.history(conv_id, min_position=pos, limit=200)["messages"]
    return next(m for m in msgs if m["id"] == mid)


def group(owner, *others, title="g"):
    r = owner.post("/api/v1/conversations", {"kind": "group", "title": title,
                                             "member_ids": [o.id for o in others]})
    assert r.status_code in (200, 201), r.text
    return r.json()["conversation"]


def test_edit_by_sender_is_seen_in_history_and_live(api, base_url):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    sent = send(alice, conv["id"], "frist")
    m = message(alice, conv["id"], sent["message_id"], sent["position"])
    assert m["edited_at"] is None and m["deleted_at"] is None

    async def scenario():
        async with Socket(ws_url(base_url), bob.access) as b:
            r = call(alice, "PATCH", msg_path(conv["id"], sent["message_id"]),
                     {"text": "first  ✓ exact\n"})
            assert r.status_code == 202, r.text
            got = await b.wait_for(lambda f: f.get("type") == "message.edited"
                                   and f.get("message_id") == sent["message_id"])
            f = got[0]
            assert f["text"] == "first  ✓ exact\n" and f["actor_id"] == alice.id
            assert f["conversation_id"] == conv["id"] and f["edited_at"]
            assert f["position"] == r.json()["position"] and f["mentions"] == []
            return r.json()["position"]
    pos = asyncio.run(scenario())
    m = message(bob, conv["id"], sent["message_id"], pos)
    assert m["text"] == "first  ✓ exact\n"  # byte-exact
    assert m["edited_at"] is not None and m["position"] == sent["position"]


def test_edit_rules(api):
    alice, bob, eve = api.user(), api.user(), api.user()
    conv = alice.direct_with(bob)
    sent = send(alice, conv["id"], "mine")
    path = msg_path(conv["id"], sent["message_id"])
    r = call(bob, "PATCH", path, {"text": "hijack"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = call(eve, "PATCH", path, {"text": "outsider"})
    assert r.status_code == 404 and r.json()["error"]["message"] == "no such conversation"
    missing = "00000000-0000-4000-8000-000000000000"
    r = call(alice, "PATCH", msg_path(conv["id"], missing), {"text": "x"})
    assert r.status_code == 404 and r.json()["error"]["message"] == "no such message"
    r = call(alice, "PATCH", msg_path(conv["id"], "not-an-id"), {"text": "x"})
    assert r.status_code == 404
    assert call(alice, "PATCH", path, {"text": "   "}).status_code == 400
    assert call(alice, "PATCH", path, {}).status_code == 400
    assert call(alice, "PATCH", path, {"text": "é" * 4096}).status_code == 202
    r = call(alice, "PATCH", path, {"text": "é" * 4097})
    assert r.status_code == 413 and "4096" in r.json()["error"]["message"]


def test_send_text_limit_in_code_points(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    ok = send(alice, conv["id"], "😀" * 4096)  # 16 KiB of bytes, 4096 code points
    assert message(alice, conv["id"], ok["message_id"], ok["position"])["text"] == "😀" * 4096
    r = alice.post(f"/api/v1/conversations/{conv['id']}/messages",
                   {"client_msg_id": "big", "text": "😀" * 4097})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


def test_delete_leaves_a_tombstone(api, base_url):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    sent = send(alice, conv["id"], f"secret @{bob.username}")
    r = call(bob, "PUT", react_path(conv["id"], sent["message_id"], "👍"))
    assert r.status_code == 202
    path = msg_path(conv["id"], sent["message_id"])
    assert call(bob, "DELETE", path).status_code == 403  # direct chat: only the sender

    async def scenario():
        async with Socket(ws_url(base_url), bob.access) as b:
            r = call(alice, "DELETE", path)
            assert r.status_code == 202, r.text
            await b.wait_for(lambda f: f.get("type") == "message.deleted"
                             and f.get("message_id") == sent["message_id"]
                             and f.get("actor_id") == alice.id)
            return r.json()["position"]
    pos = asyncio.run(scenario())
    m = message(bob, conv["id"], sent["message_id"], pos)
    assert m["text"] == "" and m["deleted_at"] is not None
    assert m["reactions"] == [] and m["mentions"] == []
    # Again: nothing left to do. A tombstone takes no edits or reactions.
    r = call(alice, "DELETE", path)
    assert r.status_code == 200 and r.json() == {"position": None}
    assert call(alice, "PATCH", path, {"text": "back"}).status_code == 404
    assert call(bob, "PUT", react_path(conv["id"], sent["message_id"], "👍")).status_code == 404


def test_group_admin_and_owner_may_delete_others_messages(api):
    owner, member, other = api.user(), api.user(), api.user()
    conv = group(owner, member, other)
    by_member = send(member, conv["id"], "spam")
    by_owner = send(owner, conv["id"], "rules")
    r = call(other, "DELETE", msg_path(conv["id"], by_owner["message_id"]))
    assert r.status_code == 403  # a plain member may not
    r = call(owner, "DELETE", msg_path(conv["id"], by_member["message_id"]))
    assert r.status_code == 202, r.text
    m = message(other, conv["id"], by_member["message_id"], r.json()["position"])
    assert m["deleted_at"] is not None and m["text"] == ""
    m = message(other, conv["id"], by_owner["message_id"], r.json()["position"])
    assert m["deleted_at"] is None


def test_reply_carries_the_quote(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    orig = send(alice, conv["id"], "question?")
    reply = send(bob, conv["id"], "answer", reply_to=orig["message_id"])
    m = message(alice, conv["id"], reply["message_id"], reply["position"])
    assert m["reply_to"] == orig["message_id"]
    assert m["quoted"] == {"id": orig["message_id"], "sender_id": alice.id,
                           "text": "question?", "deleted": False}
    plain = message(alice, conv["id"], orig["message_id"], reply["position"])
    assert plain["reply_to"] is None and plain["quoted"] is None
    r = call(alice, "DELETE", msg_path(conv["id"], orig["message_id"]))
    m = message(bob, conv["id"], reply["message_id"], r.json()["position"])
    assert m["quoted"] == {"id": orig["message_id"], "sender_id": alice.id,
                           "text": "", "deleted": True}
    # The target must be a message of the same conversation: checked in
    # stream order by the projector (a just-delivered message may not be
    # projected yet), so a foreign or unknown target is simply dropped.
    other = alice.direct_with(api.user())
    foreign = send(alice, other["id"], "elsewhere")
    for bad in (foreign["message_id"], "00000000-0000-4000-8000-000000000000"):
        sent = send(bob, conv["id"], "x", reply_to=bad)
        m = message(alice, conv["id"], sent["message_id"], sent["position"])
        assert m["reply_to"] is None and m["quoted"] is None
    r = bob.post(f"/api/v1/conversations/{conv['id']}/messages",
                 {"client_msg_id": "r1", "text": "x", "reply_to": 7})
    assert r.status_code == 400


def test_reactions_counts_me_idempotency_and_frames(api, base_url):
    alice, bob, carol = api.user(), api.user(), api.user()
    conv = group(alice, bob, carol)
    sent = send(alice, conv["id"], "react to me")
    mid = sent["message_id"]

    async def scenario():
        async with Socket(ws_url(base_url), alice.access) as a:
            r1 = call(bob, "PUT", react_path(conv["id"], mid, "👍"))
            assert r1.status_code == 202, r1.text
            await a.wait_for(lambda f: f.get("type") == "reaction.added"
                             and f.get("emoji") == "👍" and f.get("actor_id") == bob.id
                             and f.get("message_id") == mid)
            await asyncio.sleep(0.5)
            again = call(bob, "PUT", react_path(conv["id"], mid, "👍"))
            # Once projected, a repeat is a no-op that produces nothing.
            for _ in range(50):
                if again.status_code == 200:
                    break
                time.sleep(0.1)
                again = call(bob, "PUT", react_path(conv["id"], mid, "👍"))
            assert again.status_code == 200 and again.json() == {"position": None}
            r2 = call(carol, "PUT", react_path(conv["id"], mid, "👍"))
            r3 = call(carol, "PUT", react_path(conv["id"], mid, "🎉"))
            assert r2.status_code == r3.status_code == 202
            # The command API checks the projection: let it see the 🎉 first.
            carol.history(conv["id"], min_position=r3.json()["position"], limit=1)
            r4 = call(carol, "DELETE", react_path(conv["id"], mid, "🎉"))
            assert r4.status_code == 202
            await a.wait_for(lambda f: f.get("type") == "reaction.removed"
                             and f.get("emoji") == "🎉" and f.get("actor_id") == carol.id)
            thumbs = [f for f in a.frames if f.get("type") == "reaction.added"
                      and f.get("emoji") == "👍"]
            assert len(thumbs) == 2  # bob's repeat made no frame
            return r4.json()["position"]
    pos = asyncio.run(scenario())
    assert message(bob, conv["id"], mid, pos)["reactions"] == [
        {"emoji": "👍", "count": 2, "me": True}]
    assert message(alice, conv["id"], mid, pos)["reactions"] == [
        {"emoji": "👍", "count": 2, "me": False}]
    assert message(carol, conv["id"], mid, pos)["reactions"] == [
        {"emoji": "👍", "count": 2, "me": True}]
    r = call(carol, "DELETE", react_path(conv["id"], mid, "🎉"))
    assert r.status_code == 200 and r.json() == {"position": None}


def test_reaction_validation(api):
    alice, bob, eve = api.user(), api.user(), api.user()
    conv = alice.direct_with(bob)
    mid = send(alice, conv["id"], "x")["message_id"]
    for bad in ("a b", "x" * 17, "\u00a0", "\x01", "%FF"):
        path = msg_path(conv["id"], mid, "/reactions/") + (
            bad if bad == "%FF" else urllib.parse.quote(bad, safe=""))
        r = call(bob, "PUT", path)
        assert r.status_code == 400, (bad, r.text)
    assert call(bob, "PUT", react_path(conv["id"], mid, "x" * 16)).status_code == 202
    assert call(bob, "PUT", react_path(conv["id"], mid, "👨‍👩‍👧‍👦")).status_code == 202
    assert call(eve, "PUT", react_path(conv["id"], mid, "👍")).status_code == 404
    missing = "00000000-0000-4000-8000-000000000000"
    assert call(bob, "PUT", react_path(conv["id"], missing, "👍")).status_code == 404


def test_mentions_resolved_to_members_only(api, base_url):
    alice, bob, carol, outsider = api.user(), api.user(), api.user(), api.user()
    conv = group(alice, bob, carol)
    text = (f"hey @{bob.username.upper()}, @{carol.username}. and @{outsider.username} "
            f"@nosuchuser_{secrets.token_hex(3)} mail@{bob.username} @{bob.username}")

    async def scenario():
        async with Socket(ws_url(base_url), bob.access) as b:
            sent = send(alice, conv["id"], text)
            got = await b.wait_for(lambda f: f.get("type") == "message.created"
                                   and f["message"]["id"] == sent["message_id"])
            assert sorted(got[0]["message"]["mentions"]) == sorted([bob.id, carol.id])
            return sent
    sent = asyncio.run(scenario())
    m = message(carol, conv["id"], sent["message_id"], sent["position"])
    assert sorted(m["mentions"]) == sorted([bob.id, carol.id])
    assert m["text"] == text
    # An edit re-parses: carol drops out, the rest stays.
    r = call(alice, "PATCH", msg_path(conv["id"], sent["message_id"]),
             {"text": f"only @{bob.username}"})
    assert r.status_code == 202
    m = message(carol, conv["id"], sent["message_id"], r.json()["position"])
    assert m["mentions"] == [bob.id]
    none = send(alice, conv["id"], "no mentions here @x")
    assert message(bob, conv["id"], none["message_id"], none["position"])["mentions"] == []


def test_around_window(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    sent = [send(alice, conv["id"], f"m{i}") for i in range(11)]
    last = sent[-1]["position"]
    page = alice.history(conv["id"], around=sent[5]["message_id"], limit=4,
                         min_position=last)
    assert [m["text"] for m in page["messages"]] == ["m3", "m4", "m5", "m6"]
    assert page["has_more_before"] is True and page["has_more_after"] is True
    page = alice.history(conv["id"], around=sent[1]["message_id"], limit=6)
    # limit/2 = 3 before (only m0 exists), the message and 2 after it
    assert [m["text"] for m in page["messages"]] == ["m0", "m1", "m2", "m3"]
    assert page["has_more_before"] is False and page["has_more_after"] is True
    page = alice.history(conv["id"], around=sent[10]["message_id"], limit=5)
    assert [m["text"] for m in page["messages"]] == ["m8", "m9", "m10"]
    assert page["has_more_before"] is True and page["has_more_after"] is False
    page = alice.history(conv["id"], around=sent[0]["message_id"], limit=1)
    assert [m["text"] for m in page["messages"]] == ["m0"]
    # The existing directions keep has_more.
    assert "has_more" in alice.history(conv["id"], limit=2)
    base = f"/api/v1/conversations/{conv['id']}/messages"
    missing = "00000000-0000-4000-8000-000000000000"
    r = alice.get(base, params={"around": missing})
    assert r.status_code == 404 and r.json()["error"]["message"] == "no such message"
    assert alice.get(base, params={"around": "nope"}).status_code == 400
    r = alice.get(base, params={"around": sent[1]["message_id"], "before": last})
    assert r.status_code == 400
    other = alice.direct_with(api.user())
    foreign = send(alice, other["id"], "elsewhere")
    r = alice.get(base, params={"around": foreign["message_id"],
                                "min_position": foreign["position"]})
    assert r.status_code == 404
    eve = api.user()
    r = eve.get(base, params={"around": sent[1]["message_id"]})
    assert r.status_code == 404
