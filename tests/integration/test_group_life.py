"""A three-user group through its whole life: create, invite, join, send,
reply, react, edit, delete, read, remove a member, transfer ownership,
delete the group. At every step each user's view is checked over REST
and over their WebSocket."""
import asyncio
import urllib.parse

import requests

from parley_client import Socket, ws_url

THUMBS = urllib.parse.quote("👍")


def call(user, method, path, body=None):
    return requests.request(method, user.api.url + path, json=body, headers=user.auth,
                            timeout=30)


def pos_of(r, *ok):
    assert r.status_code in (ok or (202,)), r.text
    return r.json().get("position")


def page(user, cid, pos, **params):
    return user.history(cid, min_position=pos, **params)["messages"]


def msg(user, cid, pos, mid):
    return [m for m in page(user, cid, pos, limit=200) if m["id"] == mid][0]


def frame(sock, typ, **match):
    def pred(f):
        return f.get("type") == typ and all(
            f.get(k) == v or (isinstance(f.get("message"), dict) and f["message"].get(k) == v)
            for k, v in match.items())
    return pred


def test_three_user_group_life(api, base_url):
    ann, ben, cat = api.user(), api.user(), api.user()

    async def life():
        url = ws_url(base_url)
        async with Socket(url, ann.access) as sa, Socket(url, ben.access) as sb, \
                Socket(url, cat.access) as sc:
            # Create: Ann owns a group with Ben; everybody present hears it.
            r = ann.post("/api/v1/conversations",
                         {"kind": "group", "title": "Life", "member_ids": [ben.id]})
            assert r.status_code == 201, r.text
            cid = r.json()["conversation"]["id"]
            for s in (sa, sb):
                await s.wait_for(lambda f: f.get("type") == "conversation.created"
                                 and f["conversation"]["id"] == cid)
            assert call(cat, "GET", f"/api/v1/conversations/{cid}").status_code == 404

            # Invite and join: Cat accepts a one-use invite.
            r = call(ann, "POST", f"/api/v1/conversations/{cid}/invites", {"max_uses": 1})
            assert r.status_code == 201, r.text
            code = r.json()["code"]
            r = call(cat, "POST", f"/api/v1/invites/{code}/accept")
            assert r.status_code == 200, r.text
            for s in (sa, sb, sc):
                await s.wait_for(lambda f: f.get("type") == "member.added"
                                 and f.get("user_id") == cat.id)
            assert call(api.user(), "POST", f"/api/v1/invites/{code}/accept").status_code == 410

            # Send and reply.
            first = ann.send(cid, "hello @" + ben.username)
            r = cat.post(f"/api/v1/conversations/{cid}/messages",
                         {"client_msg_id": "r1", "text": "hi all",
                          "reply_to": first["message_id"]})
            reply = r.json()
            assert r.status_code == 202, r.text
            for s in (sa, sb, sc):
                await s.wait_for(frame(s, "message.created", id=reply["message_id"]))
            got = msg(ben, cid, reply["position"], reply["message_id"])
            assert got["reply_to"] == first["message_id"]
            assert got["quoted"]["text"] == "hello @" + ben.username
            assert ben.id in msg(ben, cid, reply["position"], first["message_id"])["mentions"]

            # React: Ben and Cat react; counts and "me" differ per viewer.
            base = f"/api/v1/conversations/{cid}/messages/{first['message_id']}"
            pos_of(call(ben, "PUT", f"{base}/reactions/{THUMBS}"))
            p = pos_of(call(cat, "PUT", f"{base}/reactions/{THUMBS}"))
            await sa.wait_for(lambda f: f.get("type") == "reaction.added"
                              and f.get("actor_id") == cat.id)
            assert msg(ann, cid, p, first["message_id"])["reactions"] == \
                [{"emoji": "👍", "count": 2, "me": False}]
            assert msg(ben, cid, p, first["message_id"])["reactions"][0]["me"] is True

            # Edit (sender only) and delete (the owner may delete Cat's reply).
            assert call(ben, "PATCH", base, {"text": "nope"}).status_code in (403, 404)
            p = pos_of(call(ann, "PATCH", base, {"text": "hello everyone"}))
            await sc.wait_for(lambda f: f.get("type") == "message.edited")
            edited = msg(cat, cid, p, first["message_id"])
            assert edited["text"] == "hello everyone" and edited["edited_at"]
            p = pos_of(call(ann, "DELETE",
                            f"/api/v1/conversations/{cid}/messages/{reply['message_id']}"))
            await sb.wait_for(lambda f: f.get("type") == "message.deleted")
            gone = msg(ben, cid, p, reply["message_id"])
            assert gone["deleted_at"] and gone["text"] == ""

            # Read: Ben reads up to the newest; his unread count drops to 0.
            p = pos_of(call(ben, "POST", f"/api/v1/conversations/{cid}/read",
                            {"position": p}))
            await sa.wait_for(lambda f: f.get("type") == "read.updated"
                              and f.get("actor_id") == ben.id)
            convs = ben.get("/api/v1/conversations", params={"min_position": p}).json()
            mine = [c for c in convs["conversations"] if c["id"] == cid][0]
            assert mine["unread_count"] == 0

            # Remove a member: Cat hears her own removal, then nothing more.
            p = pos_of(call(ann, "DELETE", f"/api/v1/conversations/{cid}/members/{cat.id}"))
            await sc.wait_for(lambda f: f.get("type") == "member.removed"
                              and f.get("user_id") == cat.id)
            after = ann.send(cid, "cat is gone")
            await sb.wait_for(frame(sb, "message.created", id=after["message_id"]))
            await asyncio.sleep(1.0)
            assert not [f for f in sc.frames if f.get("type") == "message.created"
                        and f["message"]["id"] == after["message_id"]]
            assert call(cat, "GET", f"/api/v1/conversations/{cid}/messages").status_code == 404
            r = cat.post(f"/api/v1/conversations/{cid}/messages",
                         {"client_msg_id": "x", "text": "let me back"})
            assert r.status_code == 404

            # Transfer ownership: the owner cannot leave first; after the
            # transfer Ben owns it and Ann is an admin.
            r = call(ann, "DELETE", f"/api/v1/conversations/{cid}/members/{ann.id}")
            assert r.status_code == 409, r.text
            p = pos_of(call(ann, "PATCH", f"/api/v1/conversations/{cid}/members/{ben.id}",
                            {"role": "owner"}))
            c = call(ann, "GET", f"/api/v1/conversations/{cid}?min_position={p}").json()
            roles = {m["user_id"]: m["role"] for m in c["conversation"]["members"]}
            assert roles == {ben.id: "owner", ann.id: "admin"}

            # Delete: only the owner; afterwards it is 404 for everyone.
            assert call(ann, "DELETE", f"/api/v1/conversations/{cid}").status_code == 403
            p = pos_of(call(ben, "DELETE", f"/api/v1/conversations/{cid}"))
            for s in (sa, sb):
                await s.wait_for(lambda f: f.get("type") == "conversation.deleted")
            for u in (ann, ben, cat):
                r = call(u, "GET", f"/api/v1/conversations/{cid}?min_position={p}")
                assert r.status_code == 404
                ids = [c["id"] for c in u.get("/api/v1/conversations").json()["conversations"]]
                assert cid not in ids

    asyncio.run(life())
