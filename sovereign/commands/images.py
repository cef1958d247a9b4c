"""`sovereign images`: the container images the program's workloads run, their pinned tags and digests with where
each digest came from; `--check` compares them with the registries, `--record` writes what the registries answer.

Both need the registries (Docker Hub, GHCR, gcr.io), which this offline toolchain cannot reach: run them from a
machine that can, then commit images.yaml. Nothing here runs during a plan.
"""

from __future__ import annotations

import argparse
import datetime
import sys

from ..catalog import CatalogError, Image
from ..catalog.images_file import images_path, pin
from ..catalog.loader import read_images
from ..domain.images import IMAGES
from ..registry import RegistryError, Resolved, resolve

# Every GPU node the clusters start is x86-64 (the catalog's GPU machine types); an index without it cannot run here.
PLATFORM = "linux/amd64"


def add_parser(commands: argparse._SubParsersAction) -> None:
    images = commands.add_parser(
        "images", help="list, check or record the digests of the images the workloads run",
        description="List the images the program's workloads run (sovereign/catalog/data/images.yaml): tag, "
                    "digest and its evidence. --check and --record ask the registries, so run them where "
                    "Docker Hub, GHCR and gcr.io are reachable.",
        epilog="Exit codes: 0 done (--check: every recorded digest is what its registry serves); 1 --check found "
               "a digest that differs, or an image without linux/amd64; 2 a registry could not be asked, or "
               "images.yaml could not be rewritten.")
    mode = images.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="ask each registry for each tag's digest and compare it with the recorded one")
    mode.add_argument("--record", action="store_true",
                      help="write each tag's digest as its registry serves it into images.yaml (evidence: registry)")
    images.add_argument("--image", action="append", default=[], choices=sorted(IMAGES), metavar="ID",
                        help=f"only this image (repeatable; one of {', '.join(sorted(IMAGES))})")
    images.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    current = read_images(images_path())     # the file --record writes, as it is now
    chosen = {i: current[i] for i in (args.image or current)}
    if not (args.check or args.record):
        for image_id, image in chosen.items():
            print(_line(image_id, image))
        return 0
    resolved: dict[str, Resolved] = {}
    for image_id, image in chosen.items():
        try:
            resolved[image_id] = resolve(image.upstream, image.repository, image.tag)
        except RegistryError as exc:
            print(f"error: {image_id} ({image.upstream}/{image.repository}:{image.tag}): {exc}", file=sys.stderr)
            return 2
    wrong = [i for i, r in resolved.items() if PLATFORM not in r.platforms]
    for image_id in wrong:
        print(f"{image_id}: not built for {PLATFORM} ({', '.join(resolved[image_id].platforms)})")
    if args.record:
        return _record(chosen, resolved, wrong)
    return _check(chosen, resolved) or (1 if wrong else 0)


def _line(image_id: str, image: Image) -> str:
    where = f"{image.upstream}/{image.repository}:{image.tag}"
    if image.digest is None:
        return f"{image_id:18} {where}  pulled by tag (no digest recorded)"
    return f"{image_id:18} {where}@{image.digest}  ({image.evidence}, {image.recorded})"


def _check(chosen: dict[str, Image], resolved: dict[str, Resolved]) -> int:
    differs = 0
    for image_id, image in chosen.items():
        served = resolved[image_id].digest
        if image.digest is None:
            print(f"{image_id}: not recorded; {resolved[image_id].endpoint} serves {served} (--record writes it)")
        elif image.digest == served:
            print(f"{image_id}: {served} as recorded")
        else:
            differs += 1
            print(f"{image_id}: recorded {image.digest}, but {resolved[image_id].endpoint} serves {served}")
    return 1 if differs else 0


def _record(chosen: dict[str, Image], resolved: dict[str, Resolved], wrong: list[str]) -> int:
    path = images_path()
    text = original = path.read_text(encoding="utf-8")
    today = datetime.datetime.now(datetime.timezone.utc).date()
    for image_id, found in resolved.items():
        image = chosen[image_id]
        if image_id in wrong or (found.digest, image.evidence) == (image.digest, "registry"):
            continue
        kind = "index of" if found.is_index else "single-platform manifest,"
        try:
            text = pin(text, image_id, found.digest, "registry", today, f"read from {found.endpoint} by "
                       f"`sovereign images --record` ({kind} {', '.join(found.platforms)})")
        except KeyError as exc:
            print(f"error: images.yaml not written: {exc.args[0]}", file=sys.stderr)
            return 2
        print(f"{image_id}: {image.digest or 'no digest'} ({image.evidence or 'none'}) -> {found.digest} (registry)")
    if text == original:
        print("images.yaml: nothing to change")
        return 1 if wrong else 0
    scratch = path.with_name(".images.yaml.new")
    scratch.write_text(text, encoding="utf-8")
    try:
        read_images(scratch)          # validated before it replaces the file
        scratch.replace(path)
    except CatalogError as exc:
        print(f"error: images.yaml not written, the rewrite is not valid: {exc}", file=sys.stderr)
        return 2
    finally:
        scratch.unlink(missing_ok=True)
    print(f"wrote {path}; set the same digests as the model-server chart's defaults "
          "(charts/model-server/values.yaml; a test holds them equal)")
    return 1 if wrong else 0
