"""The plan snapshot: `DIR/<stack>.json`, sorted and secret-free, so two runs are byte-identical."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .run import Plan


def snapshot(plan: Plan) -> dict[str, Any]:
    return {
        "stack": plan.stack,
        "spec": plan.spec.to_dict() if plan.spec else None,
        "verdicts": [v.to_dict() for v in plan.verdicts],
        "sizing": [f.to_dict() for f in plan.decisions.fits] if plan.decisions else [],
        "clusters": [c.plan.to_dict() for c in plan.decisions.clusters] if plan.decisions else [],
        "scaling": [s.to_dict() for c in plan.decisions.clusters for s in c.scaling] if plan.decisions else [],
        "egress": plan.outputs.get("egress", {}),
        "resources": [r.to_dict() for r in sorted(plan.resources, key=lambda r: r.urn)],
        "outputs": plan.outputs,
    }


def dumps(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_snapshot(plan: Plan, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{plan.stack}.json"
    path.write_text(dumps(snapshot(plan)))
    return path
