"""Live state: typing (ephemeral, never stored), read markers (forward
only) and unread counts that stay exact under concurrent sends and reads."""
import asyncio
import concurrent.futures as cf
import random
import re

from parley_client import Socket, ws_url


def _pos(p):
    m = re.fullmatch(r"p(\d+)\.o(\d+)", p)
    return int(m.group(1)), int(m.group(2))


def _conversation(user, conv_id, min_position=None):
    params = {"min_position": min_position} if min_position else {}
    r = user.get("/api/v1/conversations", params=params)
    assert r.status_code == 200, r.text
    return next(c for c in r.json()["conversations"] if c["id"] == conv_id)


def test_typing_reaches_others_not_the_typer_and_is_not_stored(api, base_url):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)["id"]
    stranger = api.user()

    async def scenario():
        async with Socket(ws_url(base_url), alice.access) as a, \
                Socket(ws_url(base_url), bob.access) as b:
            r = alice.post(f"/api/v1/conversations/{conv}/typing")
            assert r.status_code == 202, r.text
            hits = await b.wait_for(lambda f: f.get("type") == "typing")
            assert set(hits[0]) - {"_t"} == {"type", "conversation_id", "user_id", "at"}
            assert hits[0]["conversation_id"] == conv and hits[0]["user_id"] == alice.id
            # Throttled: a second keystroke within 3 s is accepted but not sent.
            assert alice.post(f"/api/v1/conversations/{conv}/typing").status_code == 202
            await asyncio.sleep(1.5)
            assert len([f for f in b.frames if f.get("type") == "typing"]) == 1
            assert not [f for f in a.frames if f.get("type") == "typing"]
    asyncio.run(scenario())
    assert alice.history(conv)["messages"] == []
    assert stranger.post(f"/api/v1/conversations/{conv}/typing").status_code == 404
    assert alice.post("/api/v1/conversations/nope/typing").status_code == 404


def test_read_marker_moves_forward_only(api, base_url):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)["id"]
    sent = [alice.send(conv, f"m{i}") for i in range(3)]

    async def scenario():
        async with Socket(ws_url(base_url), alice.access) as a:
            r = bob.post(f"/api/v1/conversations/{conv}/read",
                         {"position": sent[1]["position"]})
            assert r.status_code == 202, r.text
            hit = (await a.wait_for(lambda f: f.get("type") == "read.updated"))[0]
            assert hit["user_id"] == bob.id and hit["conversation_id"] == conv
            assert hit["last_read_position"] == sent[1]["position"]
            return r.json()["position"]
    pos = asyncio.run(scenario())
    c = _conversation(bob, conv, pos)
    assert c["last_read_position"] == sent[1]["position"]
    assert c["unread_count"] == 1 and c["mention_count"] == 0
    assert _conversation(alice, conv)["unread_count"] == 0  # own messages never count

    # Backwards is accepted but changes nothing.
    back = bob.post(f"/api/v1/conversations/{conv}/read", {"position": sent[0]["position"]})
    assert back.status_code == 202
    c = _conversation(bob, conv, back.json()["position"])
    assert c["last_read_position"] == sent[1]["position"] and c["unread_count"] == 1

    # Bad input.
    assert bob.post(f"/api/v1/conversations/{conv}/read", {"position": "x"}).status_code == 400
    assert bob.post(f"/api/v1/conversations/{conv}/read", {}).status_code == 400
    part, off = _pos(sent[0]["position"])
    other = f"p{(part + 1) % 32}.o{off}"
    assert bob.post(f"/api/v1/conversations/{conv}/read",
                    {"position": other}).status_code == 400
    stranger = api.user()
    assert stranger.post(f"/api/v1/conversations/{conv}/read",
                         {"position": sent[0]["position"]}).status_code == 404


def test_read_marker_cannot_run_ahead_of_the_stream(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)["id"]
    m = alice.send(conv, "hello")
    part, off = _pos(m["position"])
    r = bob.post(f"/api/v1/conversations/{conv}/read", {"position": f"p{part}.o{off + 10**9}"})
    assert r.status_code == 202  # the projector skips it: not an earlier event
    c = _conversation(bob, conv, r.json()["position"])
    assert c["last_read_position"] is None and c["unread_count"] == 1


def test_mention_count(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)["id"]
    alice.send(conv, f"hey @{bob.username} look")
    last = alice.send(conv, "no mention here")
    c = _conversation(bob, conv, last["position"])
    assert c["unread_count"] == 2 and c["mention_count"] == 1
    r = bob.post(f"/api/v1/conversations/{conv}/read", {"position": last["position"]})
    c = _conversation(bob, conv, r.json()["position"])
    assert c["unread_count"] == 0 and c["mention_count"] == 0


def test_unread_count_exact_under_concurrent_sends_and_reads(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)["id"]
    seed = [alice.send(conv, f"seed {i}")["position"] for i in range(5)]
    read_positions, last = [], []

    def send(i):
        return ("send", (alice if i % 5 else bob).send(conv, f"c{i}")["position"])

    def read(i):
        p = random.choice(seed + [x for _, x in last[-10:]])
        r = bob.post(f"/api/v1/conversations/{conv}/read", {"position": p})
        assert r.status_code == 202, r.text
        read_positions.append(p)
        return ("read", r.json()["position"])

    with cf.ThreadPoolExecutor(16) as ex:
        futs = [ex.submit(send if i % 2 == 0 else read, i) for i in range(100)]
        for f in cf.as_completed(futs):
            last.append(f.result())
    newest = max((x for _, x in last), key=lambda p: _pos(p)[1])
    c = _conversation(bob, conv, newest)
    marker = c["last_read_position"]
    assert marker == max(read_positions, key=lambda p: _pos(p)[1])
    msgs = bob.all_messages(conv, min_position=newest)
    truth = sum(1 for m in msgs if m["sender_id"] != bob.id
                and _pos(m["position"])[1] > _pos(marker)[1])
    assert c["unread_count"] == truth
    assert _conversation(alice, conv, newest)["unread_count"] == sum(
        1 for m in msgs if m["sender_id"] == bob.id)
