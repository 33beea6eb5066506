"""A small renderer for the kustomize features deploy/k8s uses: `resources` (files and
directories), `namespace` and strategic-merge `patches` by path. It needs no binary, so
the manifests are checked on any machine. Its output was compared with
`kubectl kustomize` (kustomize v5.5) for both overlays when it was written."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


def _merge(base: Any, patch: Any) -> Any:
    """Strategic merge for what the overlays patch: maps merge, named lists merge by name."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = _merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    if (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(item, dict) and "name" in item for item in base + patch)
    ):
        by_name = {item["name"]: item for item in base}
        for item in patch:
            by_name[item["name"]] = _merge(by_name.get(item["name"], {}), item)
        return list(by_name.values())
    return copy.deepcopy(patch)


def render(directory: Path) -> list[dict]:
    """The documents `kubectl kustomize directory` would print (for the subset above)."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - {"apiVersion", "kind", "resources", "namespace", "patches"}
    if unknown:
        raise ValueError(f"{directory}: kustomize fields this renderer does not know: {unknown}")
    documents: list[dict] = []
    for resource in kustomization.get("resources", []):
        path = (directory / resource).resolve()
        if path.is_dir():
            documents.extend(render(path))
        else:
            documents.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    for patch in kustomization.get("patches", []):
        for change in yaml.safe_load_all((directory / patch["path"]).read_text()):
            targets = [
                i
                for i, doc in enumerate(documents)
                if doc["kind"] == change["kind"]
                and doc["metadata"]["name"] == change["metadata"]["name"]
            ]
            if len(targets) != 1:
                raise ValueError(f"patch {patch['path']} matches {len(targets)} resources")
            documents[targets[0]] = _merge(documents[targets[0]], change)
    if namespace := kustomization.get("namespace"):
        for doc in documents:
            if doc["kind"] not in CLUSTER_SCOPED:
                doc.setdefault("metadata", {})["namespace"] = namespace
    return documents
