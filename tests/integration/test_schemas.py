"""The contract documents in schemas/ are valid and their examples hold."""
import subprocess
import sys
from pathlib import Path

import requests

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def test_schema_documents_and_examples_validate():
    r = subprocess.run([sys.executable, str(SCHEMAS / "check.py")], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_openapi_document_is_served(base_url):
    r = requests.get(base_url + "/api/v1/openapi.json", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    assert "/api/v1/conversations/{id}/messages" in doc["paths"]
