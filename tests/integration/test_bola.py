"""Broken object-level authorisation, table-driven: every conversation-scoped
REST path is tried by an outsider, by a removed member, and (for the
privileged ones) by a plain member. Outsiders and removed members must get a
404 identical to a missing conversation and see none of its data; members
without the role get 403. Also checks that the table covers every such path
in the OpenAPI document, so a new route cannot skip it."""
import json
import urllib.parse
from pathlib import Path

import requests

OPENAPI = Path(__file__).resolve().parents[2] / "schemas" / "openapi.json"
NOT_FOUND = {"error": {"code": "not_found", "message": "no such conversation"}}
EMOJI = urllib.parse.quote("👍")

# (method, path template, body, who must be refused with 403 when a member)
MATRIX = [
    ("GET", "/api/v1/conversations/{id}", None, None),
    ("PATCH", "/api/v1/conversations/{id}", {"title": "pwned"}, "member"),
    ("DELETE", "/api/v1/conversations/{id}", None, "member"),
    ("GET", "/api/v1/conversations/{id}/messages", None, None),
    ("POST", "/api/v1/conversations/{id}/messages", {"client_msg_id": "b1", "text": "x"}, None),
    ("PATCH", "/api/v1/conversations/{id}/messages/{mid}", {"text": "pwned"}, "member"),
    ("DELETE", "/api/v1/conversations/{id}/messages/{mid}", None, "member"),
    ("PUT", "/api/v1/conversations/{id}/messages/{mid}/reactions/{emoji}", None, None),
    ("DELETE", "/api/v1/conversations/{id}/messages/{mid}/reactions/{emoji}", None, None),
    ("POST", "/api/v1/conversations/{id}/typing", None, None),
    ("POST", "/api/v1/conversations/{id}/read", {"position": "{pos}"}, None),
    ("POST", "/api/v1/conversations/{id}/members", {"user_id": "{uid}"}, "member"),
    ("PATCH", "/api/v1/conversations/{id}/members/{user_id}", {"role": "admin"}, "member"),
    ("DELETE", "/api/v1/conversations/{id}/members/{user_id}", None, "member"),
    ("POST", "/api/v1/conversations/{id}/invites", {}, "member"),
    ("POST", "/api/v1/conversations/{id}/join", None, None),
]


def test_matrix_covers_every_conversation_path():
    doc = json.loads(OPENAPI.read_text())
    have = {(m, p) for m, p, _, _ in MATRIX}
    for path, ops in doc["paths"].items():
        if not path.startswith("/api/v1/conversations/{id}"):
            continue
        for method in ops:
            if method in ("get", "post", "put", "patch", "delete"):
                assert (method.upper(), path) in have, f"{method.upper()} {path} untested"


def _fill(template, ids):
    return template.format(**ids)


def _body(body, ids):
    if body is None:
        return None
    return json.loads(json.dumps(body).replace("{pos}", ids["pos"]).replace("{uid}", ids["uid"]))


def _call(user, method, path, body):
    return requests.request(method, user.api.url + path, json=body, headers=user.auth,
                            timeout=30)


def test_outsiders_and_removed_members_get_404_and_no_data(api):
    owner, member, removed, outsider = api.user(), api.user(), api.user(), api.user()
    r = owner.post("/api/v1/conversations", {"kind": "group", "title": "Secret plans",
                                             "member_ids": [member.id, removed.id]})
    assert r.status_code == 201, r.text
    cid = r.json()["conversation"]["id"]
    sent = owner.send(cid, "the secret is 42")
    r = _call(owner, "DELETE", f"/api/v1/conversations/{cid}/members/{removed.id}", None)
    assert r.status_code == 202, r.text
    owner.history(cid, min_position=r.json()["position"], limit=1)
    ids = {"id": cid, "mid": sent["message_id"], "emoji": EMOJI, "user_id": member.id,
           "pos": sent["position"], "uid": outsider.id}
    missing = dict(ids, id="00000000-0000-4000-8000-00000000beef")
    for who in (outsider, removed):
        for method, tmpl, body, _ in MATRIX:
            r = _call(who, method, _fill(tmpl, ids), _body(body, ids))
            r_missing = _call(who, method, _fill(tmpl, missing), _body(body, missing))
            assert r.status_code == 404, (method, tmpl, r.status_code, r.text)
            # Indistinguishable from a conversation that does not exist.
            assert r.json() == r_missing.json() == NOT_FOUND, (method, tmpl, r.text)
            assert "secret" not in r.text.lower() and "42" not in r.text
    # Nothing leaks through listings or search either.
    for who in (outsider, removed):
        listed = who.get("/api/v1/conversations").json()["conversations"]
        assert cid not in [c["id"] for c in listed]
        found = who.get("/api/v1/search", params={"q": "secret"}).json()
        assert "42" not in json.dumps(found)


def test_members_without_the_role_get_403(api):
    owner, member = api.user(), api.user()
    r = owner.post("/api/v1/conversations", {"kind": "group", "title": "Roles",
                                             "member_ids": [member.id]})
    cid = r.json()["conversation"]["id"]
    sent = owner.send(cid, "owner's words")
    owner.history(cid, min_position=sent["position"], limit=1)
    ids = {"id": cid, "mid": sent["message_id"], "emoji": EMOJI, "user_id": owner.id,
           "pos": sent["position"], "uid": api.user().id}
    for method, tmpl, body, refused in MATRIX:
        if refused != "member":
            continue
        r = _call(member, method, _fill(tmpl, ids), _body(body, ids))
        assert r.status_code == 403, (method, tmpl, r.status_code, r.text)
    # And nothing changed.
    c = owner.get(f"/api/v1/conversations/{cid}").json()["conversation"]
    assert c["title"] == "Roles"
    assert owner.history(cid)["messages"][-1]["text"] == "owner's words"
