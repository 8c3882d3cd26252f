"""GET /api/v1/search: full-text search over the caller's conversations."""
import secrets

from test_messages import call, msg_path, send


def search(user, q, patience_pos=None, **params):
    r = user.get("/api/v1/search", params={"q": q, **params,
                                           **({"min_position": patience_pos}
                                              if patience_pos else {})})
    assert r.status_code == 200, r.text
    return r.json()


def texts(res):
    return [x["message"]["text"] for x in res["results"]]


def tag():
    # A made-up word keeps each test's results to its own messages.
    return "zq" + secrets.token_hex(4)


def test_english_stemming_and_highlight(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    t = tag()
    a = send(alice, conv["id"], f"{t} we run every <b>morning</b>")
    res = search(bob, f"{t} running", a["position"])
    assert texts(res) == [f"{t} we run every <b>morning</b>"]
    hit = res["results"][0]
    assert hit["conversation_id"] == conv["id"]
    assert hit["message"]["id"] == a["message_id"]
    # Plain text with \u0002/\u0003 around matches; Postgres' parser drops
    # anything tag-like from the snippet, so it never carries markup.
    assert "\u0002run\u0003" in hit["highlight"]
    assert "morning" in hit["highlight"] and "<" not in hit["highlight"]


def test_russian_stemming(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    t = tag()
    a = send(alice, conv["id"], f"{t} вчера я бегал в парке")
    assert texts(search(bob, f"{t} бегать", a["position"])) == [f"{t} вчера я бегал в парке"]
    assert len(search(bob, f"{t} бегал")["results"]) == 1
    assert search(bob, f"{t} плавать")["results"] == []


def test_prefix_on_last_word(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    t = tag()
    a = send(alice, conv["id"], f"{t} deployment finished")
    assert len(search(alice, f"{t} deplo", a["position"])["results"]) == 1
    assert len(search(alice, f"deplo {t}")["results"]) == 0  # only the last word


def test_ranking_order_and_cursor(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    t = tag()
    send(alice, conv["id"], f"{t} kafka once among many other words here")
    best = send(alice, conv["id"], f"{t} kafka kafka kafka")
    for i in range(4):
        last = send(alice, conv["id"], f"{t} filler {i} kafka and some more words")
    res = search(bob, f"{t} kafka", last["position"], limit=2)
    assert res["results"][0]["message"]["id"] == best["message_id"]
    seen = [x["message"]["id"] for x in res["results"]]
    cursor = res["next_cursor"]
    while cursor:
        page = search(bob, f"{t} kafka", limit=2, cursor=cursor)
        seen += [x["message"]["id"] for x in page["results"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 6


def test_only_callers_conversations_and_filter(api):
    alice, bob, eve = api.user(), api.user(), api.user()
    conv = alice.direct_with(bob)
    other = alice.direct_with(eve)
    t = tag()
    send(alice, conv["id"], f"{t} private plans")
    last = send(alice, other["id"], f"{t} other plans")
    assert len(search(alice, t, last["position"])["results"]) == 2
    assert texts(search(eve, t)) == [f"{t} other plans"]
    assert texts(search(bob, t)) == [f"{t} private plans"]
    only = search(alice, t, conversation_id=other["id"])
    assert texts(only) == [f"{t} other plans"]
    r = bob.get("/api/v1/search", params={"q": t, "conversation_id": other["id"]})
    assert r.status_code == 404


def test_deleted_and_edited_messages(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    t = tag()
    a = send(alice, conv["id"], f"{t} original wording")
    r = call(alice, "DELETE", msg_path(conv["id"], a["message_id"]))
    assert search(bob, t, r.json()["position"])["results"] == []
    b = send(alice, conv["id"], f"{t} before edit")
    r = call(alice, "PATCH", msg_path(conv["id"], b["message_id"]), {"text": f"{t} renamed"})
    assert texts(search(bob, f"{t} renamed", r.json()["position"])) == [f"{t} renamed"]
    assert search(bob, f"{t} before edit")["results"] == []


def test_operators_are_text_and_validation(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    t = tag()
    a = send(alice, conv["id"], f"{t} rock and roll")
    for q in (f"{t} & rock | !roll", f"'{t}' rock:*", f"{t} (rock) <-> \\roll"):
        assert len(search(bob, q, a["position"])["results"]) == 1, q
    for params in ({"q": ""}, {"q": "   "}, {"q": "&|!():*"}, {"q": "x" * 257},
                   {"q": " ".join(["w"] * 17)}, {"q": "a", "limit": 0},
                   {"q": "a", "limit": 51}, {"q": "a", "cursor": "garbage!"},
                   {"q": "a", "conversation_id": "nope"}, {}):
        r = bob.get("/api/v1/search", params=params)
        assert r.status_code == 400, (params, r.text)
        assert r.json()["error"]["code"] == "bad_request"
    assert alice.get("/api/v1/search", params={"q": "the"}).json()["results"] == []
