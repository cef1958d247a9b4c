"""Facts the toolkit plans with: cloud regions and zones, managed LLM API hosts and supported countries,
country groups for sovereignty policy, open-weight model sizes, GPU machine types with their reference-region
list prices, which GPUs each cloud region offers, the managed Kubernetes versions with their support dates, and the
container images the program's workloads run (tags and digests).

The data lives in sovereign/catalog/data/*.yaml (each file cites its sources in its header) and is read
once, validated, and handed out as frozen records with read-only mappings. Pure Python: no Pulumi import.
"""

from .loader import load_catalog
from .records import (
    Catalog, CatalogError, CloudRegion, Gpu, Group, HostSpec, Image, KubernetesVersion, MachineType, Model,
    Provider, RegionalHost, UpgradePolicy,
)

__all__ = [
    "Catalog", "CatalogError", "CloudRegion", "Gpu", "Group", "HostSpec", "Image", "KubernetesVersion", "MachineType",
    "Model", "Provider", "RegionalHost", "UpgradePolicy", "load_catalog",
]
