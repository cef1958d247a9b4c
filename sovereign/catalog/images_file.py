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
    """`text` with `image_id`'s four pin fields set; its other fields and every other line unchanged."""
    lines = text.splitlines(keepends=True)
    try:
        start = lines.index(f"{image_id}:\n")
    except ValueError:
        raise KeyError(f"images.yaml has no image {image_id!r}") from None
    end = next((i for i in range(start + 1, len(lines)) if lines[i][:1] not in (" ", "")), len(lines))
    values = {"digest": digest, "evidence": evidence, "recorded": recorded.isoformat(), "note": json.dumps(note)}
    seen = set()
    for i in range(start + 1, end):
        if (match := re.match(r"  (\w+):", lines[i])) and match.group(1) in values:
            lines[i] = f"  {match.group(1)}: {values[match.group(1)]}\n"
            seen.add(match.group(1))
    if missing := [f for f in PIN_FIELDS if f not in seen]:
        raise KeyError(f"images.yaml: {image_id} lacks {', '.join(missing)} (write them as null first)")
    return "".join(lines)
