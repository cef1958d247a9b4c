"""Every Kubernetes manifest the stacks register passes a recognised IaC scanner (checkov, kubernetes framework).

Scanned: for every stack and cluster, the model-server chart rendered by the real helm with the values recorded
in the graph, plus the program's own Kubernetes objects (namespaces, network policies, the gateway) — one
directory per cluster, so checkov's graph checks (e.g. pods without a NetworkPolicy) see what the cluster gets.
checkov runs in its own venv (.cache/tools/checkov, tools/setup-checkov.sh, `make tools`), offline
(--skip-download). The only failed checks allowed are those listed, with their reason, in
policypack/checkov-skips.yaml; an entry that no longer fails must go.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from sovereign.domain.images import IMAGES
from tests.support.groups import RENDERED_RELEASES
from tests.support.helm import REPO_ROOT, require_executable
from tests.support.policypack_harness import stack_graph
from tests.support.stacks import STACKS

pytestmark = RENDERED_RELEASES

CHECKOV = REPO_ROOT / ".cache" / "tools" / "checkov" / "bin" / "checkov"
SKIPS_FILE = REPO_ROOT / "policypack" / "checkov-skips.yaml"
TIMEOUT_SECONDS = 600


def checkov_binary() -> Path:
    return require_executable(CHECKOV, "run `make tools` (tools/setup-checkov.sh) to install it")


def skips() -> dict[str, dict]:
    entries = yaml.safe_load(SKIPS_FILE.read_text())["skips"]
    return {e["id"]: e for e in entries}


@pytest.fixture(scope="module")
def manifests(plans, tmp_path_factory):
    """<dir>/<cluster>/manifests.yaml for every cluster of every stack; the object count per cluster."""
    root = tmp_path_factory.mktemp("checkov-manifests")
    counts = {}
    for stack in STACKS:
        by_cluster = defaultdict(list)
        for r in stack_graph(plans[stack]):
            if r["custom"] and r["type"].startswith("kubernetes:") and "apiVersion" in r["inputs"]:
                by_cluster[r["provider"].rsplit("::", 1)[-1]].append(r["inputs"])
        for cluster, docs in by_cluster.items():
            (root / cluster).mkdir()
            (root / cluster / "manifests.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
            counts[cluster] = len(docs)
    return root, counts


@pytest.fixture(scope="module")
def report(manifests):
    root, _ = manifests
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_", "PRISMA_", "CKV_"))}
    env["LOG_LEVEL"] = "ERROR"
    result = subprocess.run(
        [str(checkov_binary()), "-d", str(root), "--framework", "kubernetes", "--quiet", "--compact",
         "-o", "json", "--skip-download"],
        capture_output=True, text=True, env=env, cwd=root, timeout=TIMEOUT_SECONDS)
    assert result.returncode in (0, 1), f"checkov failed to run ({result.returncode}):\n{result.stderr[-4000:]}"
    doc = json.loads(result.stdout)
    return doc[0] if isinstance(doc, list) else doc


def test_every_cluster_of_every_stack_is_scanned(plans, manifests, report):
    _, counts = manifests
    clusters = {f"{stack}-{c.cloud}" for stack in STACKS for c in plans[stack].spec.clouds}
    assert set(counts) == clusters
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["resource_count"] >= sum(counts.values()) // 2
    assert report["summary"]["passed"] > 0


def test_no_failed_check_beyond_the_justified_skips(report):
    listed = skips()
    unexpected = [f"{f['check_id']} {f['check_name']}: {f['resource']} ({f['file_path']})"
                  for f in report["results"]["failed_checks"] if f["check_id"] not in listed]
    assert not unexpected, "checkov findings not justified in policypack/checkov-skips.yaml:\n" + "\n".join(unexpected)


def test_every_skip_is_justified_and_still_needed(report):
    failing = {f["check_id"] for f in report["results"]["failed_checks"]}
    for check_id, entry in skips().items():
        assert entry.get("reason", "").strip(), f"{check_id} has no reason"
        assert entry.get("status") in ("accepted", "fix-requested"), f"{check_id}: status?"
        assert check_id in failing, (f"{check_id} no longer fails anywhere: delete its entry from "
                                     "policypack/checkov-skips.yaml")


def test_every_workload_image_is_pinned_by_digest_where_it_can_be(plans, manifests):
    """The two image skips cover only what cannot be pinned: every container of every stack names `…@sha256:…`
    but an image images.yaml records no digest for, and one through a mirror that serves a first pull by tag only
    (ECR's pull-through cache)."""
    root, _ = manifests
    unpinned = {f"{i.repository}:{i.tag}" for i in IMAGES.values() if i.digest is None}
    assert unpinned, "every image has a digest: the skips now cover EKS's pull-through caches only (update their text)"
    tag_mirrors = {f"{stack}-{c.cloud}": [m.name for m in plans[stack].decisions.cluster(c.cloud).images.mirrors
                                          if not m.by_digest]
                   for stack in STACKS for c in plans[stack].spec.clouds}
    counts = {"digest": 0, "tag": 0}
    for path in root.glob("*/manifests.yaml"):
        cluster = path.parent.name
        for doc in yaml.safe_load_all(path.read_text()):
            pod = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
            for container in pod.get("containers", []) + pod.get("initContainers", []):
                image = container["image"]
                tag_only = any(f"/{mirror}/" in image for mirror in tag_mirrors[cluster])
                if "@sha256:" in image:
                    assert not tag_only, f"{cluster}: {image}: by digest through a mirror that serves tags only"
                else:
                    assert tag_only or any(image.endswith(f"/{u}") for u in unpinned), f"{cluster}: {image}"
                counts["tag" if tag_only else "digest" if "@sha256:" in image else "unpinned"] = 1
    assert counts == {"digest": 1, "tag": 1, "unpinned": 1}   # each case occurs
