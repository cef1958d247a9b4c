"""What GKE enforces on node pools."""

from __future__ import annotations

from ...catalog import load_catalog
from .engine import Graph, rule

NODE_POOL = "gcp:container/nodePool:NodePool"


@rule("gke-node-pool-zones-offer-its-accelerator",
      "Google Cloud, GPU regions and zones availability: an accelerator exists only in the zones listed; GKE "
      "rejects a node pool whose node locations include a zone without it; "
      "https://cloud.google.com/compute/docs/gpus/gpu-regions-zones")
def pool_zones_offer_accelerator(graph: Graph, _decisions):
    """Each GPU pool runs only in zones that offer its accelerator, as the catalog knows them (with sources);
    a zone the catalog has no fact for is an error, never assumed available."""
    catalog = load_catalog()
    by_accelerator = {m.gke_accelerator: m.gpu for m in catalog.machine_types("gcp") if m.gke_accelerator}
    for pool in graph.of_type(NODE_POOL):
        accelerators = (pool.inputs.get("nodeConfig") or {}).get("guestAccelerators") or []
        if not accelerators:
            continue
        kind, region = accelerators[0].get("type"), pool.inputs.get("location", "")
        gpu = by_accelerator.get(kind)
        offered = catalog.gpu_zones("gcp", region, gpu) if gpu else None
        locations = pool.inputs.get("nodeLocations") or []
        if offered is None:
            yield (pool.urn, f"the catalog has no zone-level fact for {kind} in {region}",
                   "add its zones, with a source, to sovereign/catalog/data/gpu_zones.yaml")
        elif set(locations) - set(offered):
            yield (pool.urn, f"{kind} is not offered in {', '.join(sorted(set(locations) - set(offered)))}",
                   "place the pool only in zones offering its accelerator (the plan's pool zones)")
