"""Groups: profile, roles, membership, invites, public groups, deletion,
and the guarantee that a removed member gets nothing after removal."""
import asyncio
import secrets
import threading
import time

import pytest
import requests

import parley_stack
from parley_client import Socket, message_frames, ws_url

NIL = "00000000-0000-4000-8000-000000000001"


def call(user, method, path, body=None):
    return requests.request(method, user.api.url + path, json=body, headers=user.auth,
                            timeout=30)


def group(owner, *members, title=None):
    r = owner.post("/api/v1/conversations", {
        "kind": "group", "title": title or "g-" + secrets.token_hex(4),
        "member_ids": [m.id for m in members]})
    assert r.status_code == 201, r.text
    return r.json()["conversation"]["id"]


def accepted(r):
    assert r.status_code == 202, r.text
    return r.json()["position"]


def conv_as(user, cid, pos=None, status=200):
    """GET the conversation, once the projection has applied pos."""
    params = {"min_position": pos} if pos else None
    for _ in range(50):
        r = user.get(f"/api/v1/conversations/{cid}", params=params)
        if r.status_code != 503:
            break
        time.sleep(0.2)
    assert r.status_code == status, r.text
    return r.json().get("conversation")


def roles(conv):
    return {m["user_id"]: m["role"] for m in conv["members"]}


def test_profile_update_permissions_and_validation(api):
    owner, admin, member, stranger = api.user(), api.user(), api.user(), api.user()
    cid = group(owner, admin, member)
    conv_as(owner, cid, accepted(call(
        owner, "PATCH", f"/api/v1/conversations/{cid}/members/{admin.id}", {"role": "admin"})))
    avatar = "11111111-2222-4333-8444-555555555555"
    pos = accepted(call(admin, "PATCH", f"/api/v1/conversations/{cid}", {
        "title": "Renamed", "description": "About us", "avatar_id": avatar, "public": True}))
    c = conv_as(member, cid, pos)
    assert (c["title"], c["description"], c["avatar_id"], c["public"]) == \
        ("Renamed", "About us", avatar, True)
    pos = accepted(call(owner, "PATCH", f"/api/v1/conversations/{cid}",
                        {"description": None, "avatar_id": None}))
    c = conv_as(member, cid, pos)
    assert (c["title"], c["description"], c["avatar_id"]) == ("Renamed", None, None)

    assert call(member, "PATCH", f"/api/v1/conversations/{cid}",
                {"title": "x"}).status_code == 403
    assert call(stranger, "PATCH", f"/api/v1/conversations/{cid}",
                {"title": "x"}).status_code == 404
    for bad in ({}, {"title": ""}, {"title": "t" * 129}, {"avatar_id": "nope"},
                {"public": "yes"}, {"description": "d" * 1025}):
        r = call(owner, "PATCH", f"/api/v1/conversations/{cid}", bad)
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request", bad
    assert call(owner, "PATCH", f"/api/v1/conversations/{NIL}",
                {"title": "x"}).status_code == 404


def test_role_and_permission_matrix(api):
    owner, a1, a2, m1, m2, new = (api.user() for _ in range(6))
    cid = group(owner, a1, a2, m1, m2)
    base = f"/api/v1/conversations/{cid}/members"
    for a in (a1, a2):
        pos = accepted(call(owner, "PATCH", f"{base}/{a.id}", {"role": "admin"}))
    conv_as(owner, cid, pos)
    # a member cannot add; an admin cannot change roles
    assert call(m1, "POST", base, {"user_id": new.id}).status_code == 403
    assert call(a1, "PATCH", f"{base}/{m1.id}", {"role": "admin"}).status_code == 403
    # an admin cannot remove another admin or the owner; a member removes nobody
    assert call(a1, "DELETE", f"{base}/{a2.id}").status_code == 403
    assert call(a1, "DELETE", f"{base}/{owner.id}").status_code == 403
    assert call(m1, "DELETE", f"{base}/{m2.id}").status_code == 403
    # the owner cannot leave before transferring
    r = call(owner, "DELETE", f"{base}/{owner.id}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "owner_must_transfer"
    # bad input
    assert call(owner, "PATCH", f"{base}/{m1.id}", {"role": "king"}).status_code == 400
    assert call(owner, "PATCH", f"{base}/{new.id}", {"role": "admin"}).status_code == 404
    assert call(a1, "POST", base, {"user_id": "x"}).status_code == 400
    assert call(a1, "POST", base, {"user_id": NIL}).status_code == 400
    assert call(a1, "POST", base, {"user_id": m1.id}).status_code == 409
    # what is allowed
    accepted(call(a1, "POST", base, {"user_id": new.id}))
    accepted(call(a1, "DELETE", f"{base}/{m2.id}"))
    accepted(call(owner, "DELETE", f"{base}/{a2.id}"))
    pos = accepted(call(m1, "DELETE", f"{base}/{m1.id}"))  # leaving
    c = conv_as(owner, cid, pos)
    assert roles(c) == {owner.id: "owner", a1.id: "admin", new.id: "member"}
    for gone in (m1, m2, a2):
        conv_as(gone, cid, status=404)
        assert gone.get(f"/api/v1/conversations/{cid}/messages").status_code == 404
        r = gone.post(f"/api/v1/conversations/{cid}/messages",
                      {"client_msg_id": "x1", "text": "still here?"})
        assert r.status_code == 404
    # transfer: the old owner becomes admin in the same event, then may leave
    pos = accepted(call(owner, "PATCH", f"{base}/{new.id}", {"role": "owner"}))
    c = conv_as(a1, cid, pos)
    assert roles(c) == {owner.id: "admin", a1.id: "admin", new.id: "owner"}
    assert call(owner, "DELETE", f"/api/v1/conversations/{cid}").status_code == 403
    pos = accepted(call(owner, "DELETE", f"{base}/{owner.id}"))
    assert roles(conv_as(new, cid, pos)) == {a1.id: "admin", new.id: "owner"}
    # non-members get 404 on every route
    stranger = api.user()
    for method, path, body in (("POST", base, {"user_id": stranger.id}),
                               ("PATCH", f"{base}/{a1.id}", {"role": "member"}),
                               ("DELETE", f"{base}/{a1.id}", None),
                               ("POST", f"/api/v1/conversations/{cid}/invites", {}),
                               ("DELETE", f"/api/v1/conversations/{cid}", None)):
        assert call(stranger, method, path, body).status_code == 404, path


def test_direct_conversations_have_no_membership_changes(api):
    a, b, c = api.user(), api.user(), api.user()
    cid = a.direct_with(b)["id"]
    base = f"/api/v1/conversations/{cid}"
    for method, path, body in (("POST", f"{base}/members", {"user_id": c.id}),
                               ("PATCH", f"{base}/members/{b.id}", {"role": "admin"}),
                               ("DELETE", f"{base}/members/{b.id}", None),
                               ("DELETE", f"{base}/members/{a.id}", None),
                               ("PATCH", base, {"title": "x"}),
                               ("DELETE", base, None),
                               ("POST", f"{base}/invites", {})):
        assert call(a, method, path, body).status_code == 400, path
    assert call(c, "POST", f"{base}/join").status_code == 404


def test_stream_order_rechecks_a_demoted_admins_add(api, stack):
    """The command API pre-checks against a projection that may lag; the
    projector must refuse an add by someone demoted earlier in the log."""
    owner, admin, target = api.user(), api.user(), api.user()
    cid = group(owner, admin)
    base = f"/api/v1/conversations/{cid}/members"
    accepted(call(owner, "PATCH", f"{base}/{admin.id}", {"role": "admin"}))
    conv_as(owner, cid, accepted(call(owner, "PATCH", f"/api/v1/conversations/{cid}",
                                      {"title": "sync"})))
    proj = stack.handle("projector")
    proj.stop()
    try:
        accepted(call(owner, "PATCH", f"{base}/{admin.id}", {"role": "member"}))
        accepted(call(admin, "POST", base, {"user_id": target.id}))  # pre-check passes
        pos = accepted(call(owner, "PATCH", f"/api/v1/conversations/{cid}",
                            {"title": "after"}))
    finally:
        proj.start()
        assert proj.wait_ready(60)
    c = conv_as(owner, cid, pos)
    assert roles(c) == {owner.id: "owner", admin.id: "member"}
    conv_as(target, cid, status=404)


def test_invites_expiry_unknown_and_exact_use_limit(api):
    owner, member, *joiners = (api.user() for _ in range(10))
    cid = group(owner, member)
    url = f"/api/v1/conversations/{cid}/invites"
    assert call(member, "POST", url, {}).status_code == 403
    for bad in ({"expires_in_s": 0}, {"expires_in_s": "1"}, {"max_uses": 0},
                {"max_uses": 100001}):
        assert call(owner, "POST", url, bad).status_code == 400, bad
    assert call(joiners[0], "POST", "/api/v1/invites/AAAAAAAAAAAAAAAAAAAAAA/accept"
                ).status_code == 404
    assert call(joiners[0], "POST", "/api/v1/invites/bad!/accept").status_code == 404

    r = call(owner, "POST", url, {"expires_in_s": 1})
    assert r.status_code == 201, r.text
    short = r.json()
    assert len(short["code"]) == 22 and short["expires_at"] and short["max_uses"] is None
    time.sleep(1.5)
    r = call(joiners[0], "POST", f"/api/v1/invites/{short['code']}/accept")
    assert r.status_code == 410 and r.json()["error"]["code"] == "gone"

    r = call(owner, "POST", url, {"max_uses": 3})
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    results = [None] * len(joiners)

    def accept(i):
        results[i] = call(joiners[i], "POST", f"/api/v1/invites/{code}/accept")
    threads = [threading.Thread(target=accept, args=(i,)) for i in range(len(joiners))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    codes = sorted(r.status_code for r in results)
    assert codes == [200] * 3 + [410] * (len(joiners) - 3), [r.text for r in results]
    won = [j for j, r in zip(joiners, results) if r.status_code == 200]
    for j, r in zip(joiners, results):
        if r.status_code == 200:
            assert j.id in roles(r.json()["conversation"])
    c = conv_as(owner, cid)
    assert set(roles(c)) == {owner.id, member.id} | {j.id for j in won}
    # a member accepting again is answered with the conversation, no use spent
    assert call(won[0], "POST", f"/api/v1/invites/{code}/accept").status_code == 200


def test_public_search_join_and_private_404(api):
    owner, seeker = api.user(), api.user()
    tag = secrets.token_hex(4)
    pub = group(owner, title=f"Birds of {tag} club")
    priv = group(owner, title=f"Secret {tag} club")
    accepted(call(owner, "PATCH", f"/api/v1/conversations/{pub}",
                  {"public": True, "description": "open to all"}))
    for i in range(3):
        g = group(owner, title=f"{tag} page {i}")
        pos = accepted(call(owner, "PATCH", f"/api/v1/conversations/{g}", {"public": True}))
    conv_as(owner, g, pos)
    r = seeker.get("/api/v1/conversations/public", params={"query": tag.upper()})
    assert r.status_code == 200, r.text
    hits = r.json()["conversations"]
    ids = [h["id"] for h in hits]
    assert pub in ids and priv not in ids and len(ids) == 4
    h = next(h for h in hits if h["id"] == pub)
    assert h["member_count"] == 1 and h["description"] == "open to all"
    assert "members" not in h
    # paging
    seen, cursor = [], None
    while True:
        params = {"query": tag, "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = seeker.get("/api/v1/conversations/public", params=params).json()
        seen += [h["id"] for h in page["conversations"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 4
    for bad in ({"limit": 0}, {"cursor": "x"}, {"query": "q" * 129}):
        assert seeker.get("/api/v1/conversations/public", params=bad).status_code == 400
    # private: invisible, and joining it is 404 like a missing one
    assert call(seeker, "POST", f"/api/v1/conversations/{priv}/join").status_code == 404
    assert call(seeker, "POST", f"/api/v1/conversations/{NIL}/join").status_code == 404
    r = call(seeker, "POST", f"/api/v1/conversations/{pub}/join")
    assert r.status_code == 200, r.text
    assert roles(r.json()["conversation"])[seeker.id] == "member"
    assert call(seeker, "POST", f"/api/v1/conversations/{pub}/join").status_code == 200
    seeker.send(pub, "hello birds")


@pytest.fixture
def capped_command(stack):
    port = parley_stack.free_port()
    h = stack.start_service("command", port=port, extra_env={"PARLEY_GROUP_MAX_MEMBERS": "3"})
    assert h.ready()
    yield f"http://127.0.0.1:{port}"
    h.stop()


def test_group_size_cap(api, capped_command):
    owner, a, b, c = (api.user() for _ in range(4))
    cid = group(owner, a)

    def direct(user, method, path, body=None):
        return requests.request(method, capped_command + path, json=body,
                                headers=user.auth, timeout=30)
    base = f"/api/v1/conversations/{cid}"
    pos = accepted(direct(owner, "POST", f"{base}/members", {"user_id": b.id}))
    conv_as(owner, cid, pos)
    r = direct(owner, "POST", f"{base}/members", {"user_id": c.id})
    assert r.status_code == 409 and r.json()["error"]["code"] == "group_full"
    pos = accepted(call(owner, "PATCH", base, {"public": True}))
    conv_as(owner, cid, pos)
    r = direct(c, "POST", f"{base}/join")
    assert r.status_code == 409 and r.json()["error"]["code"] == "group_full"
    code = call(owner, "POST", f"{base}/invites", {}).json()["code"]
    assert direct(c, "POST", f"/api/v1/invites/{code}/accept").status_code == 409


def test_delete_group_is_404_everywhere_and_framed(api, base_url):
    owner, a, b = api.user(), api.user(), api.user()
    cid = group(owner, a, b)
    owner.send(cid, "before the end")
    code = call(owner, "POST", f"/api/v1/conversations/{cid}/invites", {}).json()["code"]
    assert call(a, "DELETE", f"/api/v1/conversations/{cid}").status_code == 403

    async def scenario():
        socks = [Socket(ws_url(base_url), u.access) for u in (owner, a, b)]
        for s in socks:
            await s.__aenter__()
        try:
            pos = accepted(call(owner, "DELETE", f"/api/v1/conversations/{cid}"))
            for s in socks:
                f = (await s.wait_for(lambda f: f.get("type") == "conversation.deleted"
                                      and f["conversation_id"] == cid))[0]
                assert f["position"] == pos and f["actor_id"] == owner.id
            return pos
        finally:
            for s in socks:
                await s.__aexit__()
    pos = asyncio.run(scenario())
    conv_as(owner, cid, pos, status=404)
    for u in (owner, a, b):
        conv_as(u, cid, status=404)
        assert u.get(f"/api/v1/conversations/{cid}/messages").status_code == 404
        assert cid not in [c["id"] for c in u.get("/api/v1/conversations").json()[
            "conversations"]]
        assert u.post(f"/api/v1/conversations/{cid}/messages",
                      {"client_msg_id": "z", "text": "hello?"}).status_code == 404
        assert call(u, "PATCH", f"/api/v1/conversations/{cid}",
                    {"title": "x"}).status_code == 404
    assert call(api.user(), "POST", f"/api/v1/invites/{code}/accept").status_code == 404


def test_frames_seen_by_each_member(api, base_url):
    owner, admin, member, newbie = (api.user() for _ in range(4))
    cid = group(owner, admin, member)
    base = f"/api/v1/conversations/{cid}/members"

    async def scenario():
        users = (owner, admin, member, newbie)
        socks = {u.id: Socket(ws_url(base_url), u.access) for u in users}
        for s in socks.values():
            await s.__aenter__()
        try:
            accepted(call(owner, "PATCH", f"{base}/{admin.id}", {"role": "admin"}))
            for u in (owner, admin, member):
                f = (await socks[u.id].wait_for(
                    lambda f: f.get("type") == "member.role_changed"))[0]
                assert (f["user_id"], f["role"]) == (admin.id, "admin")
            pos = accepted(call(admin, "POST", base, {"user_id": newbie.id}))
            for u in users:
                f = (await socks[u.id].wait_for(
                    lambda f: f.get("type") == "member.added"))[0]
                assert (f["user_id"], f["via"], f["position"]) == (newbie.id, "admin", pos)
                assert f["conversation"]["id"] == cid and f["actor_id"] == admin.id
            pos = accepted(call(owner, "PATCH", f"/api/v1/conversations/{cid}",
                                {"title": "New name"}))
            for u in users:
                f = (await socks[u.id].wait_for(
                    lambda f: f.get("type") == "conversation.updated"))[0]
                assert f["changes"] == {"title": "New name"} and f["position"] == pos
            pos = accepted(call(admin, "DELETE", f"{base}/{member.id}"))
            for u in users:  # the removed member gets their own removal
                f = (await socks[u.id].wait_for(
                    lambda f: f.get("type") == "member.removed"))[0]
                assert (f["user_id"], f["reason"]) == (member.id, "removed")
            sent = owner.send(cid, "after the removal")
            for u in (owner, admin, newbie):
                await socks[u.id].wait_for(
                    lambda f: message_frames([f], cid) and
                    f["message"]["id"] == sent["message_id"])
            pos = accepted(call(owner, "PATCH", f"{base}/{newbie.id}", {"role": "owner"}))
            for u in (owner, admin, newbie):
                f = [f for f in await socks[u.id].wait_for(
                    lambda f: f.get("type") == "member.role_changed" and f["role"] == "owner")]
                assert f[0]["previous_owner_id"] == owner.id
            await asyncio.sleep(1.0)
            mine = [f for f in socks[member.id].frames if f.get("conversation_id") == cid]
            last = max(i for i, f in enumerate(mine) if f["type"] == "member.removed")
            assert mine[last + 1:] == [], mine[last + 1:]
        finally:
            for s in socks.values():
                await s.__aexit__()
    asyncio.run(scenario())


def test_removed_member_gets_nothing_from_a_cold_pusher(api, stack):
    """A pusher that never saw the removal (started after it) must not
    take a lagging projection's member list for the truth."""
    owner, gone, stays = api.user(), api.user(), api.user()
    cid = group(owner, gone, stays)
    proj = stack.handle("projector")
    proj.stop()
    second = None
    try:
        accepted(call(owner, "DELETE", f"/api/v1/conversations/{cid}/members/{gone.id}"))
        second = stack.start_service("pusher", port=parley_stack.free_port(), wait=True)
        assert second.ready()

        async def scenario():
            url = ws_url(None, second.port)
            async with Socket(url, gone.access) as g, Socket(url, stays.access) as s:
                sent = owner.send(cid, "not for the removed")
                await asyncio.sleep(0.5)
                proj.start()  # the projection catches up only now
                await s.wait_for(lambda f: message_frames([f], cid) and
                                 f["message"]["id"] == sent["message_id"], timeout=60)
                await asyncio.sleep(0.5)
                assert [f for f in g.frames if f.get("conversation_id") == cid] == []
        asyncio.run(scenario())
    finally:
        if not proj.supervised:
            proj.start()
        assert proj.wait_ready(60)
        if second:
            second.stop()
    conv_as(gone, cid, status=404)
