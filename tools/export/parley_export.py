#!/usr/bin/env python3
"""Reads a Parley export archive back (the "import" side of an export).

    python3 tools/export/parley_export.py EXPORT.zip     # checks it, prints a summary

As a module, read_export(path_or_bytes) returns
    {"manifest": {...}, "account": {...} | None, "users": {id: user},
     "attachments": {id: {..., "data": bytes | None}},
     "conversations": {id: {"conversation": {...}, "messages": [...]}}}
with the messages in position order, exactly the objects the REST read API
returns. It refuses an archive that is not self-consistent: a member path
outside the archive, a message naming an attachment the archive does not
list, an attachment whose bytes do not match its size, or a manifest that
does not match the files.
"""
import io
import json
import posixpath
import sys
import zipfile

FORMAT = "parley-export"


class ExportError(ValueError):
    pass


def _json(z, name):
    try:
        return json.loads(z.read(name).decode("utf-8"))
    except KeyError:
        raise ExportError(f"{name} is missing") from None


def _safe(name):
    norm = posixpath.normpath(name)
    if name.startswith("/") or norm.startswith("..") or "\\" in name:
        raise ExportError(f"unsafe member name {name!r}")


def _attachments(z):
    out = {}
    for a in _json(z, "attachments.json"):
        a = dict(a)
        a["data"] = z.read(a["path"]) if a.get("path") else None
        if a["data"] is not None and len(a["data"]) != a["size"]:
            raise ExportError(f"attachment {a['id']} has {len(a['data'])} bytes, "
                              f"listed as {a['size']}")
        out[a["id"]] = a
    return out


def _conversation(z, cid):
    base = f"conversations/{cid}/"
    conv = _json(z, base + "conversation.json")
    text = z.read(base + "messages.jsonl").decode("utf-8")
    msgs = [json.loads(line) for line in text.splitlines() if line]
    return {"conversation": conv, "messages": msgs}


def read_export(src):
    """src: a path, or the archive's bytes."""
    f = io.BytesIO(src) if isinstance(src, (bytes, bytearray)) else src
    with zipfile.ZipFile(f) as z:
        bad = z.testzip()
        if bad:
            raise ExportError(f"{bad}: CRC mismatch")
        for name in z.namelist():
            _safe(name)
        manifest = _json(z, "manifest.json")
        if manifest.get("format") != FORMAT or manifest.get("version") != 1:
            raise ExportError("not a version 1 parley export")
        out = {
            "manifest": manifest,
            "account": _json(z, "account.json") if "account.json" in z.namelist() else None,
            "users": {u["id"]: u for u in _json(z, "users.json")},
            "attachments": _attachments(z),
            "conversations": {c: _conversation(z, c) for c in manifest["conversations"]},
        }
    _check(out)
    return out


def _check(exp):
    n = 0
    for cid, c in exp["conversations"].items():
        if c["conversation"]["id"] != cid:
            raise ExportError(f"conversations/{cid} holds {c['conversation']['id']}")
        for m in c["messages"]:
            n += 1
            for a in m["attachments"]:
                if a["id"] not in exp["attachments"]:
                    raise ExportError(f"message {m['id']} names unlisted attachment {a['id']}")
    if n != exp["manifest"]["message_count"]:
        raise ExportError(f"{n} messages, manifest says {exp['manifest']['message_count']}")
    if len(exp["attachments"]) != exp["manifest"]["attachment_count"]:
        raise ExportError("attachment count differs from the manifest")


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        exp = read_export(argv[1])
    except (ExportError, zipfile.BadZipFile, KeyError, ValueError) as e:
        print(f"invalid export: {e}", file=sys.stderr)
        return 1
    m = exp["manifest"]
    print(f"{m['scope']} export {m['export_id']} of user {m['user_id']} at {m['exported_at']}")
    for cid, c in exp["conversations"].items():
        print(f"  conversation {cid}: {len(c['messages'])} messages")
    print(f"  attachments: {len(exp['attachments'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
