"""Rewriting one image's digest in images.yaml in place, keeping the file's comments and order (`sovereign images
--record`). The loader validates the result before it is written."""

from __future__ import annotations

import datetime
import json
import re
from importlib import resources
from pathlib import Path

PIN_FIELDS = ("digest", "evidence", "recorded", "note")


def images_path() -> Path:
    """The packaged images.yaml as a file on disk (an editable install or a checkout: the one `--record` edits)."""
    path = resources.files("sovereign.catalog") / "data" / "images.yaml"
    if not isinstance(path, Path):
        raise RuntimeError(f"{path} is inside an archive; run from a checkout to record digests")
    return path


def pin(text: str, image_id: str, digest: str, evidence: str, recorded: datetime.date, note: str) -> str:
    """`text` with `image_id`'s four pin fields set, each on one line (a folded value's continuation lines go);
    its other fields, comments and every other image unchanged."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(rf"{re.escape(image_id)}:\s*(#.*)?$", line)), None)
    if start is None:
        raise KeyError(f"images.yaml has no image {image_id!r}")
    # The block runs to the next top-level key; comments and blank lines inside it belong to it.
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"[^\s#]", lines[i])), len(lines))
    values = {"digest": digest, "evidence": evidence, "recorded": recorded.isoformat(), "note": json.dumps(note)}
    block, seen, replacing = [], set(), False
    for line in lines[start + 1:end]:
        field = re.match(r"  (\w+):", line)
        if field:
            replacing = field.group(1) in values
            if replacing:
                block.append(f"  {field.group(1)}: {values[field.group(1)]}\n")
                seen.add(field.group(1))
                continue
        elif replacing and line.startswith("   "):   # a replaced field's continuation
            continue
        block.append(line)
    if missing := [f for f in PIN_FIELDS if f not in seen]:
        raise KeyError(f"images.yaml: {image_id} lacks {', '.join(missing)} (write them as null first)")
    return "".join([*lines[:start + 1], *block, *lines[end:]])
