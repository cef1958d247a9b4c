"""The stack-file key reference in README.md, generated from the keys the spec validates (spec.KEYS).

`python -m sovereign.domain.stack_keys` rewrites the README's table between its markers; a test checks
that every key the validator takes is described here, and nothing else, and that the README is current.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .spec import EKS_VERSIONS, GKE_CHANNELS, KEYS, ROUTE53_INTERVALS

START, END = "<!-- stack-keys:start -->", "<!-- stack-keys:end -->"

DESCRIPTIONS: dict[str, str] = {
    "sovereign:region": "region name used in resource and DNS names: lower-case letters, digits, `-`, ≤ 32",
    "sovereign:clouds": "the clouds the region runs on: `aws:` and/or `gcp:`",
    "sovereign:models": "open-weight models served on every cluster of the region (at least one)",
    "sovereign:jurisdiction": "override of the countries whose rules apply (default: the cloud regions' countries)",
    "sovereign:managedApis": "managed APIs the region asks for; the policy decides which it may reach",
    "sovereign:dr": "health checks, DNS failover and drill capacity",
    "sovereign:apiKeys": "Pulumi secrets, one per entry: `gateway` (the key applications present) and one per "
                         "requested provider; set with `pulumi config set --secret --path`",
    "sovereign:drill": "the cloud a DR drill tears down (`aws` or `gcp`); unset for normal operation",
    "sovereign:drillPhase": "`release` (survivors scaled and DNS moved, the downed cloud's protections lifted and "
                            "controller-made load balancers and nodes removed) or `teardown` (default: the cloud gone)",
    "sovereign:logRetentionDays": "days the audit trail is kept: VPC flow, DNS query and control-plane logs "
                                  "(a CloudWatch Logs retention, default 365)",
    "sovereign:maintenance": "the weekly UTC window in which GKE may upgrade nodes on its own (EKS has none)",
    "sovereign:maintenance.days": "days, as MO TU WE TH FR SA SU (default [SA, SU])",
    "sovereign:maintenance.startHour": "UTC hour the window opens, 0-23 (default 1)",
    "sovereign:maintenance.hours": "length of each day's window, 4-24 (default 8); GKE needs 48 h in any 32 days",
    "sovereign:clouds.aws.region": "AWS region, e.g. `eu-central-1`",
    "sovereign:clouds.aws.accountId": "12-digit account the provider is pinned to (quoted)",
    "sovereign:clouds.aws.kubernetesVersion": f"EKS version, one of {', '.join(EKS_VERSIONS)} "
                                              f"(default {EKS_VERSIONS[-1]})",
    "sovereign:clouds.aws.apiAccessCidrs": "networks allowed to the public Kubernetes API (default: private only)",
    "sovereign:clouds.aws.spot": "GPU nodes on spot capacity (default false)",
    "sovereign:clouds.aws.adminRoleArn": "IAM role granted cluster-admin through an EKS access entry",
    "sovereign:clouds.aws.offeredGpus": "GPU ids the account is offered in a region the catalog has not verified "
                                        "(`aws ec2 describe-instance-type-offerings`); refused where it has",
    "sovereign:clouds.aws.capacityReservations": "capacity the account reserved, per GPU type: the GPU pool runs in "
                                                 "the reservation's zone and launches into it",
    "sovereign:clouds.aws.registryCredentials": "required: ARNs of Secrets Manager secrets named "
    "`ecr-pullthroughcache/…` holding `{username, accessToken}` of the upstream registries ECR's pull-through "
    "caches need credentials for (the secrets stay out of Pulumi config)",
    "sovereign:clouds.aws.imageMirror": "`pullThrough` (default outside AWS China: ECR pull-through caches, images "
    "by tag) or `prefilled` (repositories the stack creates with immutable tags, filled by an operator before the "
    "first `pulumi up`; pods name every recorded digest); AWS China: `prefilled` only. Switching a deployed stack: "
    "README, Digests",
    "sovereign:clouds.aws.registryCredentials.dockerHub": "Docker Hub (vLLM, Grafana images)",
    "sovereign:clouds.aws.registryCredentials.ghcr": "GitHub Container Registry (LiteLLM, KEDA images); a token with "
    "`read:packages`",
    "sovereign:clouds.aws.capacityReservations[].gpu": "catalog GPU id of the pool the reservation is for",
    "sovereign:clouds.aws.capacityReservations[].id": "EC2 capacity reservation id (`cr-…`)",
    "sovereign:clouds.aws.capacityReservations[].zone": "the reservation's availability zone",
    "sovereign:clouds.aws.capacityReservations[].block": "true for an EC2 Capacity Block for ML (ends at its "
                                                         "end date); default false: an On-Demand Capacity Reservation",
    "sovereign:clouds.gcp.region": "GCP region, e.g. `europe-west3`",
    "sovereign:clouds.gcp.project": "GCP project id",
    "sovereign:clouds.gcp.releaseChannel": f"GKE release channel, one of {', '.join(GKE_CHANNELS)} (default REGULAR)",
    "sovereign:clouds.gcp.apiAccessCidrs": "networks allowed to the public Kubernetes API (default: private only)",
    "sovereign:clouds.gcp.spot": "GPU nodes on Spot VMs (default false)",
    "sovereign:clouds.gcp.offeredGpus": "GPU ids the project is offered in a region the catalog has not verified "
                                        "(`gcloud compute accelerator-types list`); refused where it has",
    "sovereign:models[].id": "catalog model id (sovereign/catalog/data/models.yaml)",
    "sovereign:models[].replicas": "replicas per cluster: an integer ≥ 1 (min = max) or `{min, max}`",
    "sovereign:models[].contextLength": "tokens per sequence the server holds (default min(8192, the model's maximum))",
    "sovereign:models[].maxConcurrency": "sequences in flight per replica (default 16)",
    "sovereign:models[].gpus": "GPU types the model may run on (default: any the region offers)",
    "sovereign:models[].replicas.min": "minimum replicas per cluster, 0 to scale the model to zero between requests "
                                       "(default 1; at least one model keeps 1 or more)",
    "sovereign:models[].replicas.max": "maximum replicas per cluster",
    "sovereign:managedApis[].provider": "catalog provider id, e.g. `openai`, `anthropic`, `aws_bedrock`",
    "sovereign:managedApis[].models": "the provider's models applications may name, each with its fallback",
    "sovereign:managedApis[].endpointRegion": "Bedrock / Vertex region (default: the stack's own AWS / GCP region)",
    "sovereign:managedApis[].resource": "Azure OpenAI resource name (`{resource}.openai.azure.com`); Azure only",
    "sovereign:managedApis[].models[].name": "the provider's model name, e.g. `gpt-4.1`",
    "sovereign:managedApis[].models[].fallback": "open-weight model of this region that answers when the provider "
                                                 "is denied, unkeyed or failing",
    "sovereign:jurisdiction.countries": "ISO country codes",
    "sovereign:jurisdiction.reason": "why the override (required)",
    "sovereign:dr.healthCheckIntervalSeconds": f"Route 53 health-check interval, "
                                               f"{' or '.join(map(str, ROUTE53_INTERVALS))} (default 10)",
    "sovereign:dr.failureThreshold": "failed checks before failover, 1-10 (default 3)",
    "sovereign:dr.dnsTtlSeconds": "TTL of the failover records, 5-3600 (default 30)",
    "sovereign:dr.minReplicas": "per model, the floor any single surviving cloud must serve (default 1)",
    "sovereign:dr.domain": "parent domain of the failover names (`<region>.<domain>`, `api.<domain>`); "
                           "unset: no failover DNS",
    "sovereign:dr.globalZoneId": "existing Route 53 zone of `domain` (required with it): the regional zone's "
    "delegation, the certificates' validation of `api.<domain>`, and its routing by country",
    "sovereign:dr.serves": "client countries the global name routes here (default: the jurisdiction)",
    "sovereign:dr.default": "the global name's answer for every other country (default false)",
    "sovereign:dr.drillCapacity": "model id → replicas per surviving cloud during a drill",
    "sovereign:dr.sourceRanges": "CIDR blocks of the clients that may reach the public gateway endpoints (with Route "
                                 "53's health checkers, added by the stack); default: anyone",
}


def validated_keys() -> list[str]:
    """Every key the validator takes, as `<mapping>.<key>` paths."""
    paths = []
    for mapping, (required, optional) in KEYS.items():
        for key in (*required, *optional):
            paths.append(f"{mapping}{key}" if mapping.endswith(":") else f"{mapping}.{key}")
    return paths


def table() -> str:
    """The README's key reference, one row per key the validator takes, in its order."""
    rows = ["| key | required | what it sets |", "| --- | --- | --- |"]
    for mapping, (required, optional) in KEYS.items():
        for key in (*required, *optional):
            path = f"{mapping}{key}" if mapping.endswith(":") else f"{mapping}.{key}"
            rows.append(f"| `{path}` | {'yes' if key in required else ''} | {DESCRIPTIONS[path]} |")
    return "\n".join(rows)


def with_table(readme: str) -> str:
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{table()}\n{END}{tail}"


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    path.write_text(with_table(path.read_text()))
