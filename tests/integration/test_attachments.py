"""Attachments: streamed uploads to parley-media, types from magic bytes,
image sizes, the size limit, download authorisation and headers, and
messages that carry attachments through Kafka into history and frames."""
import asyncio
import secrets
import struct
import urllib.parse
import zlib

import requests

from parley_client import Socket, ws_url

MAX = 25 * 1024 * 1024  # PARLEY_ATTACHMENT_MAX_BYTES default


def png(w, h):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    raw = b"".join(b"\0" + b"\xff\x00\x00" * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def jpeg(w=16, h=8):
    """A baseline greyscale JPEG whose blocks are all flat (every DC diff
    and AC run is the one 1-bit Huffman code), valid for any decoder."""
    def seg(marker, body):
        return b"\xff" + bytes([marker]) + struct.pack(">H", len(body) + 2) + body
    one_code = bytes([1] + [0] * 15) + b"\x00"
    blocks = ((w + 7) // 8) * ((h + 7) // 8)
    bits = "00" * blocks
    bits += "1" * (-len(bits) % 8)
    data = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
    data = data.replace(b"\xff", b"\xff\x00")
    return (b"\xff\xd8" + seg(0xDB, b"\x00" + b"\x01" * 64)
            + seg(0xC0, struct.pack(">BHHB", 8, h, w, 1) + b"\x01\x11\x00")
            + seg(0xC4, b"\x00" + one_code) + seg(0xC4, b"\x10" + one_code)
            + seg(0xDA, b"\x01\x01\x00\x00\x3f\x00") + data + b"\xff\xd9")


def upload(user, data, filename=None, content_type="application/octet-stream", **kw):
    params = {"filename": filename} if filename is not None else None
    headers = dict(user.auth, **{"Content-Type": content_type})
    return requests.post(user.api.url + "/api/v1/attachments", params=params, data=data,
                         headers=headers, timeout=120, **kw)


def uploaded(user, data, **kw):
    r = upload(user, data, **kw)
    assert r.status_code == 201, r.text
    return r.json()


def send(user, conv_id, text="", attachment_ids=(), cmid=None):
    return user.post(f"/api/v1/conversations/{conv_id}/messages",
                     {"client_msg_id": cmid or secrets.token_hex(8), "text": text,
                      "attachment_ids": list(attachment_ids)})


def test_png_and_jpeg_types_and_sizes(api):
    alice = api.user()
    p = uploaded(alice, png(3, 2), filename="pic.png")
    assert p["content_type"] == "image/png"
    assert (p["width"], p["height"], p["size"]) == (3, 2, len(png(3, 2)))
    assert p["filename"] == "pic.png"
    j = uploaded(alice, jpeg(16, 8))
    assert j["content_type"] == "image/jpeg"
    assert (j["width"], j["height"]) == (16, 8)
    assert j["filename"] == "attachment"  # no name given
    assert p["id"] != j["id"]


def test_type_comes_from_bytes_not_name_or_header(api):
    alice = api.user()
    # An HTML page dressed as a PNG: stays opaque bytes.
    html = uploaded(alice, b"<html><script>alert(1)</script></html>",
                    filename="cute.png", content_type="image/png")
    assert html["content_type"] == "application/octet-stream"
    assert "width" not in html
    # A real PNG called .exe with a lying Content-Type is still a PNG.
    p = uploaded(alice, png(5, 7), filename="setup.exe", content_type="text/html")
    assert (p["content_type"], p["width"], p["height"]) == ("image/png", 5, 7)
    assert uploaded(alice, b"%PDF-1.7\n...")["content_type"] == "application/pdf"
    assert uploaded(alice, b"PK\x03\x04" + b"\0" * 26)["content_type"] == "application/zip"
    svg = uploaded(alice, b"<svg xmlns='http://www.w3.org/2000/svg'/>", filename="a.svg",
                   content_type="image/svg+xml")
    assert svg["content_type"] == "application/octet-stream"


def test_filename_is_sanitised(api):
    alice = api.user()
    a = uploaded(alice, b"x", filename="../../etc/pass\r\nwd")
    assert a["filename"] == "passwd"
    b = uploaded(alice, b"x", filename="\u00e9" * 150)
    assert len(b["filename"].encode()) == 200
    c = uploaded(alice, b"x", filename="invoice\u202egpj.exe")
    assert c["filename"] == "invoicegpj.exe"


def test_bad_uploads(api, base_url):
    alice = api.user()
    assert upload(alice, b"").status_code == 400
    r = requests.post(base_url + "/api/v1/attachments", data=b"x", timeout=10)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"


def test_size_limit_streamed_and_declared(api):
    alice = api.user()

    def gen(total, chunk=1 << 20):
        sent = 0
        while sent < total:
            n = min(chunk, total - sent)
            sent += n
            yield b"\0" * n
    # Chunked: the service only finds out while counting.
    r = upload(alice, gen(MAX + 1))
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "too_large"
    # Declared in Content-Length: refused before reading a byte.
    r = upload(alice, b"\0" * (MAX + 1))
    assert r.status_code == 413
    # Exactly the limit is fine.
    ok = uploaded(alice, gen(MAX))
    assert ok["size"] == MAX


def _media_rss_kib(stack):
    h = next(h for h in stack.handles if h.name == "media" and h.running)
    with open(f"/proc/{h.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_streamed_upload_does_not_bloat_memory(api, stack):
    alice = api.user()
    uploaded(alice, b"warm-up" * 1000)
    before = _media_rss_kib(stack)
    size = 20 * 1024 * 1024

    def gen():
        for _ in range(size // (256 * 1024)):
            yield secrets.token_bytes(256 * 1024)
    assert uploaded(alice, gen())["size"] == size
    grown = _media_rss_kib(stack) - before
    # Buffering the body would add 20 MiB; streaming adds a few buffers.
    assert grown < 10 * 1024, f"media RSS grew by {grown} KiB"


def _download(user, att_id):
    return requests.get(f"{user.api.url}/api/v1/attachments/{att_id}", headers=user.auth,
                        timeout=30)


def _history_attachments(user, conv_id, message_id, position):
    msgs = user.history(conv_id, min_position=position)["messages"]
    return next(m for m in msgs if m["id"] == message_id)["attachments"]


def test_download_authorisation_and_headers(api):
    alice, bob, carol = api.user(), api.user(), api.user()
    body = png(4, 4)
    att = uploaded(alice, body, filename='evil"; filename=x.html\u00e9.png')
    # Before it is posted: only the uploader.
    r = _download(alice, att["id"])
    assert r.status_code == 200 and r.content == body
    assert r.headers["Content-Type"] == "image/png"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in r.headers["Cache-Control"]
    assert r.headers["Content-Length"] == str(len(body))
    disp = r.headers["Content-Disposition"]
    assert disp.startswith("inline; filename=\"evil_; filename=x.html_.png\"; filename*=UTF-8''")
    assert urllib.parse.unquote(disp.split("UTF-8''", 1)[1]) == att["filename"]
    assert _download(bob, att["id"]).status_code == 404
    # Posted in alice and bob's chat: bob may, carol still may not.
    conv = alice.direct_with(bob)
    sent = send(alice, conv["id"], "look", [att["id"]])
    assert sent.status_code == 202, sent.text
    _history_attachments(bob, conv["id"], sent.json()["message_id"], sent.json()["position"])
    r = _download(bob, att["id"])
    assert r.status_code == 200 and r.content == body
    nf = _download(carol, att["id"])
    assert nf.status_code == 404 and nf.json()["error"]["code"] == "not_found"
    missing = _download(alice, "00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and missing.json() == nf.json()
    assert _download(alice, "not-a-uuid").status_code == 404


def test_non_image_downloads_as_attachment(api):
    alice = api.user()
    att = uploaded(alice, b"<html>hi</html>", filename="page.html")
    r = _download(alice, att["id"])
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.headers["Content-Disposition"].startswith('attachment; filename="page.html"')
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_message_with_attachments_in_history_and_frame(api, base_url):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    a1 = uploaded(alice, png(2, 3), filename="one.png")
    a2 = uploaded(alice, b"%PDF-1.4 doc", filename="two.pdf")

    async def scenario():
        async with Socket(ws_url(base_url), bob.access) as b:
            r = send(alice, conv["id"], "", [a2["id"], a1["id"]])  # no text needed
            assert r.status_code == 202, r.text
            frames = await b.wait_for(lambda f: f.get("type") == "message.created"
                                      and f["message"]["id"] == r.json()["message_id"])
            return r.json(), frames[0]["message"]
    sent, framed = asyncio.run(scenario())
    want = [{"id": a2["id"], "content_type": "application/pdf", "size": a2["size"],
             "filename": "two.pdf"},
            {"id": a1["id"], "content_type": "image/png", "size": a1["size"],
             "width": 2, "height": 3, "filename": "one.png"}]
    assert framed["attachments"] == want
    assert framed["text"] == ""
    got = _history_attachments(bob, conv["id"], sent["message_id"], sent["position"])
    assert got == want
    # A plain message has an empty list.
    plain = send(alice, conv["id"], "just text").json()
    assert _history_attachments(alice, conv["id"], plain["message_id"],
                                plain["position"]) == []


def test_attaching_what_you_did_not_upload_is_refused(api):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    bobs = uploaded(bob, png(1, 1))
    r = send(alice, conv["id"], "stolen", [bobs["id"]])
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_attachment"
    r = send(alice, conv["id"], "ghost", ["00000000-0000-4000-8000-000000000000"])
    assert r.status_code == 400
    mine = uploaded(alice, png(1, 1))
    assert send(alice, conv["id"], "", []).status_code == 400  # no text, no attachments
    assert send(alice, conv["id"], "x", ["nope"]).status_code == 400
    assert send(alice, conv["id"], "x", [mine["id"]] * 2).status_code == 400
    many = [uploaded(alice, b"x")["id"] for _ in range(11)]
    assert send(alice, conv["id"], "x", many).status_code == 400
    assert send(alice, conv["id"], "x", many[:10]).status_code == 202
    # Bob never gained access to alice's other uploads by being in the chat.
    assert _download(bob, mine["id"]).status_code == 404


def test_uploads_are_rate_limited_per_user(api, stack):
    """A media instance of its own with a tight budget, so the shared
    stack's generous test limit is not what is measured."""
    import parley_stack
    port = parley_stack.free_port()
    h = stack.start_service("media", port=port, extra_env={
        "PARLEY_UPLOAD_RATE_PER_MIN": "1", "PARLEY_UPLOAD_RATE_BURST": "2"})
    try:
        alice, bob = api.user(), api.user()
        url = f"http://127.0.0.1:{port}/api/v1/attachments"
        codes = [requests.post(url, data=png(2, 2), headers=alice.auth, timeout=30)
                 for _ in range(3)]
        assert [r.status_code for r in codes] == [201, 201, 429]
        assert codes[2].headers["Retry-After"] == "2"
        assert codes[2].json()["error"]["code"] == "rate_limited"
        # The budget is per user.
        assert requests.post(url, data=png(2, 2), headers=bob.auth, timeout=30).status_code == 201
    finally:
        h.stop()
