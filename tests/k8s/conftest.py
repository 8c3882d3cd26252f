"""Render every kustomization under infra/k8s once per session."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "infra" / "k8s"
TARGETS = {"dev": K8S / "overlays" / "dev", "prod": K8S / "overlays" / "prod",
           "flood": K8S / "tools" / "flood"}
KUSTOMIZE_VERSION = "v5.5.0"   # scripts/ci-containers.sh installs this one


def kustomize_cmd():
    env = os.environ.get("KUSTOMIZE")
    if env:
        return [env, "build"]
    local = REPO / ".parley" / "bin" / "kustomize"
    if local.exists():
        return [str(local), "build"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    pytest.fail("no kustomize: run scripts/ci-containers.sh k8s, or set KUSTOMIZE")


def render(path):
    r = subprocess.run(kustomize_cmd() + [str(path)], capture_output=True, text=True)
    assert r.returncode == 0, f"kustomize build {path} failed:\n{r.stderr}"
    docs = [d for d in yaml.safe_load_all(r.stdout) if d]
    assert docs, f"{path} rendered nothing"
    return docs


@pytest.fixture(scope="session")
def rendered():
    return {name: render(path) for name, path in TARGETS.items()}


def crd_dir():
    env = os.environ.get("PARLEY_K8S_CRDS")
    for cand in ([Path(env)] if env else []) + [REPO.parent / "shared" / "k8s-crds",
                                                  REPO / ".." / ".." / "shared" / "k8s-crds"]:
        if cand.is_dir():
            return cand.resolve()
    pytest.fail("CRD schemas not found: set PARLEY_K8S_CRDS to the k8s-crds directory")
