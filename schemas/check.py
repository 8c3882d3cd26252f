#!/usr/bin/env python3
"""Checks the contracts in schemas/: the JSON Schemas are valid 2020-12
schemas, openapi.json is valid OpenAPI 3.1, asyncapi.yaml's $refs resolve,
and every example under examples/ validates (or, for *.invalid.json, fails).

Needs jsonschema and openapi-spec-validator (which brings PyYAML).
Set PARLEY_ASYNCAPI_SCHEMA to the AsyncAPI 3.0.0 JSON Schema (from the npm
package @asyncapi/specs, schemas/3.0.0.json) to validate asyncapi.yaml fully.
Exits 0 when everything holds, 1 otherwise.
"""
import datetime
import json
import os
import sys
from pathlib import Path

import jsonschema
import yaml
from openapi_spec_validator import validate as openapi_validate

HERE = Path(__file__).resolve().parent
failures = []


def fail(what, why):
    failures.append(f"{what}: {why}")


def load(name):
    return json.loads((HERE / name).read_text(encoding="utf-8"))


formats = jsonschema.FormatChecker()


@formats.checks("date-time", raises=ValueError)
def _date_time(s):
    if not isinstance(s, str):
        return True
    if "T" not in s or not (s.endswith("Z") or s[-6] in "+-"):
        raise ValueError("not RFC 3339")
    datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    return True


def validator(schema):
    return jsonschema.Draft202012Validator(schema, format_checker=formats)


def check_example(path, schema):
    expect_valid = not path.name.endswith(".invalid.json")
    try:
        inst = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        fail(path.relative_to(HERE), f"not JSON: {e}")
        return
    errors = list(validator(schema).iter_errors(inst))
    if expect_valid and errors:
        fail(path.relative_to(HERE), errors[0].message[:300])
    elif not expect_valid and not errors:
        fail(path.relative_to(HERE), "expected to be invalid, but validates")


def sub(root, pointer):
    """root with its top-level $ref pointing at pointer (keeps $defs in reach)."""
    return {k: v for k, v in root.items() if k not in ("oneOf", "title", "description")} | {
        "$ref": pointer}


def resolve_pointer(doc, pointer):
    for part in pointer.lstrip("/").split("/"):
        if part:
            doc = doc[part.replace("~1", "/").replace("~0", "~")]
    return doc


def walk_refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v
            else:
                yield from walk_refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk_refs(v)


def main():
    schemas = {}
    for name in ("events.schema.json", "ws-frames.schema.json"):
        try:
            schemas[name] = load(name)
            jsonschema.Draft202012Validator.check_schema(schemas[name])
        except (ValueError, jsonschema.SchemaError) as e:
            fail(name, str(e).splitlines()[0])

    try:
        openapi = load("openapi.json")
        openapi_validate(openapi)
    except Exception as e:  # the validator raises several kinds
        openapi = None
        fail("openapi.json", str(e).splitlines()[0])

    # One notion of a position everywhere.
    if openapi and len(schemas) == 2:
        pats = {openapi["components"]["schemas"]["Position"]["pattern"],
                schemas["ws-frames.schema.json"]["$defs"]["position"]["pattern"]}
        if len(pats) != 1:
            fail("Position", f"patterns differ: {sorted(pats)}")

    try:
        asyncapi = yaml.safe_load((HERE / "asyncapi.yaml").read_text(encoding="utf-8"))
        for ref in walk_refs(asyncapi):
            file, _, pointer = ref.partition("#")
            target = asyncapi if not file else load(file)
            try:
                resolve_pointer(target, pointer)
            except (KeyError, IndexError, TypeError):
                fail("asyncapi.yaml", f"$ref {ref} does not resolve")
        spec = os.environ.get("PARLEY_ASYNCAPI_SCHEMA")
        if spec:
            v = jsonschema.Draft7Validator(json.loads(Path(spec).read_text()))
            for e in v.iter_errors(asyncapi):
                fail("asyncapi.yaml", f"{list(e.path)}: {e.message[:200]}")
    except (OSError, ValueError, yaml.YAMLError) as e:
        fail("asyncapi.yaml", str(e).splitlines()[0])

    ex = HERE / "examples"
    if "events.schema.json" in schemas:
        for p in sorted((ex / "events").glob("*.json")):
            check_example(p, schemas["events.schema.json"])
    if "ws-frames.schema.json" in schemas:
        frames = schemas["ws-frames.schema.json"]
        for p in sorted((ex / "ws").glob("*.json")):
            side = p.name.split(".")[0]
            pointer = {"client": "#/$defs/client_frame", "server": "#/$defs/server_frame"}
            check_example(p, sub(frames, pointer[side]) if side in pointer else frames)
    if openapi:
        comp = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                "components": openapi["components"]}
        for p in sorted((ex / "rest").glob("*.json")):
            name = p.name.split(".")[0]
            if name not in openapi["components"]["schemas"]:
                fail(p.relative_to(HERE), f"no components.schemas.{name} in openapi.json")
                continue
            check_example(p, comp | {"$ref": f"#/components/schemas/{name}"})

    for f in failures:
        print(f"FAIL {f}")
    n = sum(1 for _ in ex.rglob("*.json"))
    print(f"schemas: {'FAILED' if failures else 'ok'} ({n} examples, "
          f"{len(failures)} failures)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
