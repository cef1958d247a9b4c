"""What a real teardown refuses or leaves behind, modelled offline: a drill's deletes are checked against each.

Under mocks every delete succeeds. The real providers refuse some (a protected resource, a DNS Firewall association
under mutation protection, a bucket or registry that still holds data, a GKE cluster with deletion protection),
and some deletes succeed while leaving what a controller made outside Pulumi (an ELB for a LoadBalancer Service, a
GKE Gateway's load balancer, Karpenter's instances) in the network, whose own delete then fails. Each constraint
here names its source; the drill applies them to the state each phase deletes from (the release phase's deletes from
the normal plan, the teardown's from the release phase's), so a drill passes only if every real delete would.

What a delete loses is classified too: the data a resource holds, kept (retained) or lost with the cloud.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from .graph import RegisteredResource


@dataclass(frozen=True)
class Blocker:
    urn: str
    problem: str
    fix: str
    source: str


def _protected(r: RegisteredResource, _: Mapping[str, RegisteredResource]) -> tuple[str, str] | None:
    # Pulumi refuses before it looks at retainOnDelete: a protected resource is never deleted, retained or not.
    if r.options.get("protect"):
        return "is protected: Pulumi refuses to delete it", "keep it out of the drill (stateful, region-level)"
    return None


def _mutation_protected(r, _):
    if r.inputs.get("mutationProtection") == "ENABLED":
        return ("is under mutation protection: DisassociateFirewallRuleGroup is refused",
                "lift it first (the drill's release phase sets it DISABLED)")
    return None


def _orphans_cloud_resources(r, deleted):
    """A controller-owned object skipped because what it is deleted with goes too: its cloud resources stay."""
    owner = r.options.get("deletedWith")
    if owner in deleted and _controller_made(r):
        return (f"is deleted with {owner.rsplit('::', 1)[-1]} without being deleted itself: the {_controller_made(r)} "
                "it made stays in the network, whose delete then fails (DependencyViolation / resource in use)",
                "delete it explicitly before the cluster (no deletedWith), in the release phase")
    return None


def _controller_made(r: RegisteredResource) -> str | None:
    if r.type == "kubernetes:core/v1:Service" and (r.inputs.get("spec") or {}).get("type") == "LoadBalancer":
        return "load balancer"
    if r.type == "kubernetes:gateway.networking.k8s.io/v1:Gateway":
        return "Gateway's load balancer"
    if r.type in ("kubernetes:karpenter.sh/v1:NodePool", "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"):
        return "instances Karpenter launched"
    return None


def _holds_data(r, _):
    if r.options.get("retainOnDelete"):
        return None
    if r.type == "aws:s3/bucket:Bucket" and not r.inputs.get("forceDestroy"):
        return "may hold objects: DeleteBucket answers BucketNotEmpty", "retain it, or forceDestroy what may be lost"
    if r.type == "gcp:storage/bucket:Bucket" and not r.inputs.get("forceDestroy"):
        return "may hold objects: a non-empty bucket is not deleted", "retain it, or forceDestroy what may be lost"
    if r.type == "aws:ecr/repository:Repository" and not r.inputs.get("forceDelete"):
        return ("may hold images: DeleteRepository answers RepositoryNotEmptyException",
                "retain it, or forceDelete a cache that can be refilled")
    if r.type == "aws:route53/zone:Zone" and not r.inputs.get("forceDestroy"):
        return "may hold records: DeleteHostedZone answers HostedZoneNotEmpty", "retain it"
    return None


def _deletion_protected(r, _):
    if r.type == "gcp:container/cluster:Cluster" and r.inputs.get("deletionProtection") is not False:
        return "has deletion protection (the provider's default): the delete is refused", "set deletionProtection false"
    return None


CONSTRAINTS: tuple[tuple[Callable, str], ...] = (
    (_protected, "Pulumi, resource option protect: https://www.pulumi.com/docs/iac/concepts/options/protect/"),
    (_mutation_protected, "Route 53 Resolver API, FirewallRuleGroupAssociation MutationProtection: "
                          "https://docs.aws.amazon.com/Route53/latest/APIReference/"
                          "API_route53resolver_FirewallRuleGroupAssociation.html"),
    (_orphans_cloud_resources, "Pulumi, resource option deletedWith (the delete is skipped): "
                               "https://www.pulumi.com/docs/iac/concepts/options/deletedwith/; EC2 DeleteVpc / "
                               "DeleteSubnet DependencyViolation: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/"
                               "API_DeleteVpc.html; Karpenter, deleting a NodeClass waits for its nodes: "
                               "https://karpenter.sh/docs/concepts/nodeclasses/"),
    (_holds_data, "S3 DeleteBucket, ECR DeleteRepository, Route 53 DeleteHostedZone: "
                  "https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html, "
                  "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DeleteRepository.html; GCS "
                  "buckets: https://cloud.google.com/storage/docs/deleting-buckets"),
    (_deletion_protected, "pulumi-gcp container.Cluster deletionProtection (default true): "
                          "https://www.pulumi.com/registry/packages/gcp/api-docs/container/cluster/"),
)


def blockers(deleted: Iterable[RegisteredResource]) -> list[Blocker]:
    """What the real clouds would refuse (or leave behind) among these deletes, each state as it is when deleted."""
    deleted = {r.urn: r for r in deleted}
    found = []
    for resource in deleted.values():
        for constraint, source in CONSTRAINTS:
            if (hit := constraint(resource, deleted)) is not None:
                found.append(Blocker(resource.urn, *hit, source))
    return found


# What a resource of each kind holds, and what losing it means beyond the obvious.
DATA = {
    "aws:cloudwatch/logGroup:LogGroup": ("logs", "deleted with their group"),
    "aws:s3/bucket:Bucket": ("objects", ""),
    "gcp:storage/bucket:Bucket": ("objects", ""),
    "aws:ecr/repository:Repository": ("images", ""),
    "gcp:artifactregistry/repository:Repository": ("cached images", "pulled again from upstream on the next deploy"),
    "aws:kms/key:Key": ("a KMS key", "deletion scheduled: what it encrypted becomes unreadable"),
    "gcp:kms/cryptoKey:CryptoKey": ("a Cloud KMS key", "its versions destroyed"),
    "aws:route53/zone:Zone": ("DNS records", ""),
    "gcp:dns/managedZone:ManagedZone": ("DNS records", ""),
}


@dataclass(frozen=True)
class DataFate:
    urn: str
    holds: str
    kept: bool
    note: str = ""


def data_fates(deleted: Iterable[RegisteredResource], retained: Iterable[RegisteredResource]) -> list[DataFate]:
    """Every resource holding data that the drill removes from the stack: lost when deleted, kept when retained."""
    fates = [DataFate(r.urn, DATA[r.type][0], False, DATA[r.type][1])
             for r in deleted if r.type in DATA and not r.options.get("retainOnDelete")
             # A private zone's records are the stack's own constants (Private Google Access), made again with it.
             and r.inputs.get("visibility") != "private"]
    fates += [DataFate(r.urn, DATA.get(r.type, ("state", ""))[0], True) for r in retained]
    return sorted(fates, key=lambda f: (f.kept, f.urn))
