"""The CQRS path end to end: REST write -> Kafka -> projector -> Postgres,
REST reads, and WebSocket pushes, all through nginx."""
import asyncio

import requests

from parley_client import Socket, message_frames, ws_url


def test_two_clients_chat_over_websocket(api, base_url):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)

    async def scenario():
        async with Socket(ws_url(base_url), alice.access) as a, \
                Socket(ws_url(base_url), bob.access) as b:
            sent = alice.send(conv["id"], "hi bob")
            got = await b.wait_for(lambda f: f.get("type") == "message.created"
                                   and f["message"]["id"] == sent["message_id"])
            m = got[0]["message"]
            assert m["text"] == "hi bob" and m["sender_id"] == alice.id
            assert m["position"] == sent["position"] == got[0]["position"]
            reply = bob.send(conv["id"], "hello alice")
            await a.wait_for(lambda f: f.get("type") == "message.created"
                             and f["message"]["id"] == reply["message_id"])
            # The sender's own other sockets hear it too.
            await a.wait_for(lambda f: f.get("type") == "message.created"
                             and f["message"]["id"] == sent["message_id"])
    asyncio.run(scenario())
    texts = [m["text"] for m in alice.all_messages(conv["id"], min_position=None)]
    assert texts[-2:] == ["hi bob", "hello alice"]


def test_direct_conversation_is_created_once(api):
    alice, bob = api.user(), api.user()
    first = alice.direct_with(bob)
    again = bob.direct_with(alice)
    assert first["id"] == again["id"]
    assert sorted(m["user_id"] for m in first["members"]) == sorted([alice.id, bob.id])
    listed = [c["id"] for c in alice.get("/api/v1/conversations").json()["conversations"]]
    assert listed.count(first["id"]) == 1


def test_send_is_idempotent_by_client_msg_id(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    one = alice.send(conv["id"], "once", client_msg_id="retry-1")
    two = alice.send(conv["id"], "once", client_msg_id="retry-1")
    assert one["message_id"] == two["message_id"]
    msgs = alice.all_messages(conv["id"], min_position=two["position"])
    assert [m["id"] for m in msgs].count(one["message_id"]) == 1
    three = alice.send(conv["id"], "once", client_msg_id="retry-1")
    assert three == {"message_id": one["message_id"], "position": msgs[-1]["position"]}


def test_concurrent_retries_are_stored_and_pushed_once(api, base_url, stack):
    """Retries that race the first attempt (a client that timed out early)
    reach Kafka as the same event more than once: stored once, and each
    socket, live or resuming from the log, gets one frame for it."""
    import threading
    import parley_stack
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)["id"]
    start = alice.send(conv, "before the retries")["position"]
    log_pusher = stack.start_service("pusher", port=parley_stack.free_port(), wait=True,
                                     extra_env={"PARLEY_RESUME_BUFFER": "0"})
    acks = []

    def post():
        acks.append(alice.send(conv, "sent four times", client_msg_id="racing"))

    async def scenario():
        async with Socket(ws_url(base_url), bob.access) as live:
            threads = [threading.Thread(target=post) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            last = max(acks, key=lambda a: int(a["position"].split(".o")[1]))["position"]
            mark = alice.send(conv, "after the retries")
            await live.wait_for(lambda f: f.get("position") == mark["position"])
            async with Socket(ws_url(None, log_pusher.port), bob.access,
                              resume={conv: start}) as replayed:
                await replayed.wait_for(lambda f: f.get("type") == "resume.done")
                await asyncio.sleep(0.3)
                return live.frames, replayed.frames, last
    try:
        live, replayed, last = asyncio.run(scenario())
    finally:
        log_pusher.stop()
    assert len({a["message_id"] for a in acks}) == 1
    for frames in (live, replayed):
        texts = [f["message"]["text"] for f in message_frames(frames, conv)]
        assert texts.count("sent four times") == 1, texts
    msgs = alice.all_messages(conv, min_position=last)
    assert [m["text"] for m in msgs].count("sent four times") == 1


def test_min_position_reads_your_own_write(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    for i in range(20):
        sent = alice.send(conv["id"], f"m{i}")
        page = alice.history(conv["id"], min_position=sent["position"], limit=1)
        assert page["messages"][-1]["id"] == sent["message_id"]


def test_non_member_gets_404_on_read_and_write(api):
    alice, bob, eve = api.user(), api.user(), api.user()
    conv = alice.direct_with(bob)
    alice.send(conv["id"], "private")
    missing = "00000000-0000-4000-8000-000000000000"
    for cid in (conv["id"], missing):
        r1 = eve.get(f"/api/v1/conversations/{cid}/messages")
        r2 = eve.post(f"/api/v1/conversations/{cid}/messages",
                      {"client_msg_id": "x1", "text": "let me in"})
        r3 = eve.get(f"/api/v1/conversations/{cid}")
        for r in (r1, r2, r3):
            assert r.status_code == 404
            assert r.json() == {"error": {"code": "not_found",
                                          "message": "no such conversation"}}


def test_paging_backwards_and_forwards(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    sent = [alice.send(conv["id"], f"p{i}") for i in range(12)]
    last = sent[-1]["position"]
    newest = alice.history(conv["id"], limit=5, min_position=last)
    assert [m["text"] for m in newest["messages"]] == [f"p{i}" for i in range(7, 12)]
    assert newest["has_more"] is True
    older = alice.history(conv["id"], limit=5, before=newest["messages"][0]["position"])
    assert [m["text"] for m in older["messages"]] == [f"p{i}" for i in range(2, 7)]
    fwd = alice.history(conv["id"], limit=3, after=older["messages"][-1]["position"])
    assert [m["text"] for m in fwd["messages"]] == ["p7", "p8", "p9"]
    every = alice.all_messages(conv["id"])
    assert [m["text"] for m in every] == [f"p{i}" for i in range(12)]
    for m in every:
        assert set(m) >= {"id", "client_msg_id", "sender_id", "text", "created_at", "position"}


def test_group_conversation_fans_out_to_every_member(api, base_url):
    owner, m1, m2 = api.user(), api.user(), api.user()
    r = owner.post("/api/v1/conversations",
                   {"kind": "group", "title": "Team", "member_ids": [m1.id, m2.id]})
    assert r.status_code == 201, r.text
    conv = r.json()["conversation"]
    roles = {m["user_id"]: m["role"] for m in conv["members"]}
    assert roles == {owner.id: "owner", m1.id: "member", m2.id: "member"}

    async def scenario():
        async with Socket(ws_url(base_url), m1.access) as s1, \
                Socket(ws_url(base_url), m2.access) as s2:
            sent = m1.send(conv["id"], "hello team")
            for s in (s1, s2):
                await s.wait_for(lambda f: f.get("type") == "message.created"
                                 and f["message"]["id"] == sent["message_id"])
    asyncio.run(scenario())


def test_bad_input_gets_clear_errors(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    url = f"{api.url}/api/v1/conversations/{conv['id']}/messages"
    cases = [
        ("{not json", 400), ('{"text":"x"}', 400), ('{"client_msg_id":"a","text":""}', 400),
        ('[1,2]', 400), ('{"client_msg_id":"a","text":"' + "x" * 5000 + '"}', 413),
        ('{"client_msg_id":"a","text":"' + "[" * 40 + '"}', 202),
        ("[" * 100 + "]" * 100, 400),
    ]
    for body, status in cases:
        r = requests.post(url, data=body, timeout=10,
                          headers={**alice.auth, "Content-Type": "application/json"})
        assert r.status_code == status, (body[:40], r.text)
        if status >= 400:
            assert r.json()["error"]["message"]
    huge = requests.post(url, data="x" * (2 << 20), headers=alice.auth, timeout=10)
    assert huge.status_code == 413
    r = alice.get(f"/api/v1/conversations/{conv['id']}/messages?before=bogus")
    assert r.status_code == 400
    r = alice.post("/api/v1/conversations", {"kind": "direct", "member_ids": [alice.id]})
    assert r.status_code == 400
    r = alice.post("/api/v1/conversations",
                   {"kind": "direct", "member_ids": ["00000000-0000-4000-8000-000000000001"]})
    assert r.status_code == 400


def test_read_your_conversation_list(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    sent = bob.send(conv["id"], "latest words")
    r = alice.get("/api/v1/conversations", params={"min_position": sent["position"]})
    assert r.status_code == 200
    mine = [c for c in r.json()["conversations"] if c["id"] == conv["id"]][0]
    assert mine["last_message"]["id"] == sent["message_id"]
