"""compose/kubernetes rendered as an operator would: the production overlay with its
secrets files made from their examples, through `kubectl kustomize`."""

from __future__ import annotations

import base64
import re
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
KUBERNETES = ROOT / "compose" / "kubernetes"
OVERLAY = "overlays/production"
SECRET_FILES = ("secrets.env", "migrate.env", "userlist.txt")


def render(workdir: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is missing: make test installs it (compose/local/ensure-services.sh)"
    tree = workdir / "kubernetes"
    shutil.copytree(KUBERNETES, tree)
    for name in SECRET_FILES:
        example = (tree / OVERLAY / f"{name}.example").read_text()
        # Every empty secret gets a random value, as an operator fills the file in (Sentry
        # stays optional and off).
        filled = re.sub(
            r"^(?!SENTRY_DSN)(\w+)=$", lambda m: f"{m.group(1)}={secrets.token_urlsafe(40)}", example, flags=re.M
        )
        (tree / OVERLAY / name).write_text(filled)
    result = subprocess.run([kubectl, "kustomize", str(tree / OVERLAY)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def pod_templates(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Deployment and Job pod specs, by workload name."""
    return {
        obj["metadata"]["name"]: obj["spec"]["template"]["spec"]
        for obj in objects
        if obj["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet")
    }


def _data(obj: dict[str, Any]) -> dict[str, str]:
    values = dict(obj.get("data") or {})
    if obj["kind"] == "Secret":
        values = {key: base64.b64decode(value).decode() for key, value in values.items()}
        values.update(obj.get("stringData") or {})
    return values


def container_environment(
    objects: list[dict[str, Any]], container: dict[str, Any], *, pod_ip: str = "10.0.0.7"
) -> dict[str, str]:
    """What the container's process sees: envFrom first, then env with $(VAR) expanded."""
    sources = {(obj["kind"], obj["metadata"]["name"]): obj for obj in objects if obj["kind"] in ("ConfigMap", "Secret")}
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        kind, ref = (
            ("ConfigMap", source["configMapRef"]) if "configMapRef" in source else ("Secret", source["secretRef"])
        )
        environment.update(_data(sources[(kind, ref["name"])]))
    for variable in container.get("env", []):
        if "value" in variable:
            value = re.sub(r"\$\((\w+)\)", lambda m: environment.get(m.group(1), m.group(0)), variable["value"])
        else:
            reference = variable["valueFrom"]
            if "fieldRef" in reference:
                assert reference["fieldRef"]["fieldPath"] == "status.podIP", reference
                value = pod_ip
            else:
                kind, ref = (
                    ("ConfigMap", reference["configMapKeyRef"])
                    if "configMapKeyRef" in reference
                    else ("Secret", reference["secretKeyRef"])
                )
                value = _data(sources[(kind, ref["name"])])[ref["key"]]
        environment[variable["name"]] = value
    return environment


def expansion_only_variables(container: dict[str, Any]) -> set[str]:
    """Variables used only to build another's value with $(NAME), e.g. POD_IP."""
    return {
        name for variable in container.get("env", []) for name in re.findall(r"\$\((\w+)\)", variable.get("value", ""))
    }
