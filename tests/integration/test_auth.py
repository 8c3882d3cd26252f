"""Auth service contract: register, login, refresh rotation, logout."""
import time

import requests


def post(api, path, body, token=None):
    h = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(api.url + path, json=body, headers=h, timeout=30)


def test_register_validates_and_rejects_duplicates(api):
    name, _ = api.register()
    r = post(api, "/api/v1/auth/register",
             {"username": name, "password": "another-pass", "display_name": "X"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "username_taken"
    for bad in ({"username": "a", "password": "long-enough", "display_name": "A"},
                {"username": "okname1", "password": "short", "display_name": "A"},
                {"username": "okname2", "password": "long-enough"}):
        r = post(api, "/api/v1/auth/register", bad)
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"]["message"]


def test_login_failures_look_the_same(api):
    name, pw = api.register()
    wrong = post(api, "/api/v1/auth/login", {"username": name, "password": pw + "x"})
    unknown = post(api, "/api/v1/auth/login", {"username": name + "zz", "password": pw})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_refresh_rotates_and_reuse_revokes_the_family(api):
    u = api.user()
    r1 = post(api, "/api/v1/auth/refresh", {"refresh_token": u.refresh})
    assert r1.status_code == 200, r1.text
    second = r1.json()["refresh_token"]
    assert second != u.refresh and r1.json()["access_token"]
    # Replaying the rotated token is theft: it fails and kills the family.
    reuse = post(api, "/api/v1/auth/refresh", {"refresh_token": u.refresh})
    assert reuse.status_code == 401
    after = post(api, "/api/v1/auth/refresh", {"refresh_token": second})
    assert after.status_code == 401


def test_logout_ends_the_session(api):
    u = api.user()
    r = post(api, "/api/v1/auth/logout", {}, token=u.access)
    assert r.status_code == 204, r.text
    assert post(api, "/api/v1/auth/refresh", {"refresh_token": u.refresh}).status_code == 401


def test_user_search_by_prefix(api):
    u = api.user()
    r = u.get("/api/v1/users", params={"query": u.username[:6]})
    assert r.status_code == 200
    assert u.id in [x["id"] for x in r.json()["users"]]
    assert requests.get(api.url + "/api/v1/users?query=x", timeout=10).status_code == 401


def test_tampered_or_missing_token_is_401(api):
    u = api.user()
    bad = u.access[:-4] + ("AAAA" if not u.access.endswith("AAAA") else "BBBB")
    for h in ({}, {"Authorization": "Bearer " + bad}, {"Authorization": u.access}):
        r = requests.get(api.url + "/api/v1/conversations", headers=h, timeout=10)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthenticated"
