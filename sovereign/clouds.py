"""What differs between the clouds, in one profile per cloud.

Every module that treats AWS and GCP differently reads the difference from here (stack keys, catalog
fields, network layout, platform hosts, the public endpoint's DNS record) instead of branching on the
cloud's name. Pure data, below the catalog and the domain: this module imports nothing of the project.

A third cloud is a profile here, its catalog data (regions, machine types, prices, offerings), its
components folder (`components/<cloud>/`) and its mocks (`sovereign/engine/mocks_<cloud>.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True)
class CatalogFields:
    """How a cloud's facts are laid out in the catalog's data files."""
    region_fields: frozenset[str]      # keys of a region entry in regions.yaml
    location_field: str                # the key naming where the region is ("name" / "location")
    partitioned: bool                  # regions belong to a partition with its own DNS suffix (AWS)
    zone_separator: str                # zone names are "<region><sep><letter>": us-east-1a, us-east4-a
    machine_listing: str               # the list of machine types under a GPU in gpus.yaml
    machine_fields: frozenset[str]
    machine_shape: bool                # vcpu and memory_mib listed per machine type
    accelerator_type: bool             # a node pool names its GPU by an accelerator type (GKE)


@dataclass(frozen=True)
class RegistryMirror:
    """A public registry the cluster pulls through a mirror the stack creates in its own cloud region."""
    upstream: str              # where the images are published: docker.io, ghcr.io, quay.io
    name: str                  # the mirror's name after the stack's (ECR prefix / Artifact Registry repository)
    source: str                # what the cloud's mirror pulls from: ECR's upstream URL / Artifact Registry's
                               # public repository preset or custom URI
    credentials: str | None    # the `registryCredentials` key naming the upstream's credentials, where the cloud
                               # needs them (ECR's Docker Hub and GHCR caches)


@dataclass(frozen=True)
class ElasticServing:
    """How a cloud's models follow their queue, and its GPU pools the pods (sovereign/domain/elastic.py)."""
    metrics_pipeline: str      # what scrapes the model servers, for reports
    scrape: str                # the model-server chart's scrape object: `metrics.<scrape>.enabled`
    query_address: str         # the Prometheus API KEDA's trigger queries; "{project}": the stack's GCP project
    keda_identity: str         # KEDA's TriggerAuthentication podIdentity provider for that API; "": none needed
    node_autoscaler: str       # what adds a GPU node for a pending replica, for reports
    # True: a pool's nodes may be any machine type of its GPU that holds its replicas, tried in the sizing's
    # order (a Karpenter NodePool lists several); False: one machine type per pool (a GKE node pool).
    machine_fallback: bool
    # The stack installs the metrics pipeline (kube-prometheus-stack and NVIDIA's dcgm-exporter) where the cloud
    # has no managed one for the cluster.
    prometheus_in_cluster: bool
    # The pods that scrape the model servers (namespace, pod labels): admitted by the serving namespace's ingress
    # fence to the metrics port.
    scraper: tuple[str, tuple[tuple[str, str], ...]]
    # Seconds from a pending GPU replica to a Ready GPU node that can run it (a modelled assumption, see below).
    gpu_node_ready_s: int
    # The scraper's service account (namespace, name) where it reads a target's credential Secret only when granted
    # it in that namespace; None where the pipeline reads secrets itself (the prometheus-operator).
    scraper_account: tuple[str, str] | None = None


@dataclass(frozen=True)
class CloudProfile:
    id: str                            # "aws" | "gcp": the key under sovereign:clouds
    kubernetes: str                    # the managed Kubernetes service, for reports
    # `sovereign:clouds.<id>` keys.
    required_keys: tuple[str, ...]
    optional_keys: tuple[str, ...]
    catalog: CatalogFields
    # Network layout. Per-cloud ranges do not overlap, so a region's clouds can later be peered or VPN'd.
    network_cidr: str
    public_subnets: bool               # one public subnet per zone for load balancers and NAT (AWS)
    pods_cidr: str | None              # secondary range for pod IPs (GKE VPC-native)
    services_cidr: str | None
    master_cidr: str | None            # private control plane range (GKE)
    system_machine_type: str           # 4 vCPU / 16 GiB: DNS, gateway, agents
    # How the model servers read weights from the cloud's bucket: "stream" (vLLM's Run:ai Model Streamer reads the
    # bucket with the pod's workload identity, no local copy) or "copy" (an init container copies them to local
    # disk first); and what one connection to the bucket reads per second (MB/s), which the cold start models.
    weights_load: str
    bucket_mb_s_per_connection: float
    # Hosts the model servers' weight reads need through workload identity; `{region}` and
    # `{dns_suffix}` are the cluster's region and its partition's DNS suffix.
    platform_hosts: tuple[tuple[str, str], ...]   # (host template, why the model servers need it)
    # What the nodes and the system pods outside the fenced namespaces need besides those: the network layer is an
    # allowlist, so each is let through there (never to the fenced pods), with why. Same templates.
    node_hosts: tuple[tuple[str, str], ...]
    # Public registries pulled through in-region mirrors (a registry is a provider that can be cut off too), and
    # how a mirror is named after its stack: "{stack}" and "{name}".
    mirrors: tuple[RegistryMirror, ...]
    mirror_name: str
    # Partitions whose registry cannot pull through (ECR's pull-through cache does not exist in AWS China): there
    # the mirrors are repositories the stack creates and an operator fills before the first `pulumi up`. Elsewhere a
    # stack may choose those too where the cloud pulls through only by tag (`imageMirror: prefilled`).
    prefilled_partitions: tuple[str, ...]
    # Whether a mirror that pulls through serves an image whose first pull names it by digest. Where not, every
    # image through it is named by tag only (a prefilled mirror keeps the digests its images were copied with).
    pull_through_by_digest: bool
    # Managed APIs the gateway reaches as its own workload identity, no key: (provider, the one permission it needs,
    # granted through a custom role of the stack's).
    identity_providers: tuple[tuple[str, str], ...]
    # The public load balancer in front of a gateway, and how failover DNS points at it.
    lb_annotations: tuple[tuple[str, str], ...]  # (key, value) pairs: the profile travels to worker processes
    lb_status_field: str               # the field of the Service's ingress status naming the load balancer
    # TLS at the load balancer: annotations with the certificate's ARN for `{certificate}` (an NLB listener), or
    # () where the cloud terminates TLS otherwise (GKE: the Gateway API's regional load balancer).
    lb_tls_annotations: tuple[tuple[str, str], ...]
    # A regional L7 load balancer's proxy-only subnet (GKE's Gateway), inside network_cidr; None: none needed.
    proxy_cidr: str | None
    # The failover record is an A record either way (one type per failover pair, none a CNAME at the zone
    # apex): an alias to the load balancer of this ELB type, or (None) the address itself.
    lb_alias_type: str | None
    # The managed service upgrades nodes on its own, inside the region's maintenance window (GKE); or only
    # when an update is applied (EKS managed node groups).
    upgrades_in_window: bool
    # Machine families whose on-demand capacity is rarely there without a reservation: a pool of them without
    # one is reported, and the stack may name its reservation (`capacityReservations`, where the profile takes it).
    reservation_families: tuple[str, ...]
    elastic: ElasticServing
    # (apiVersion, kind) of the alerting rules the cluster's rule evaluator reads: the prometheus-operator's
    # PrometheusRule (kube-prometheus-stack on EKS), or Google Managed Service for Prometheus' namespaced Rules,
    # evaluated by its managed rule evaluator (GKE).
    alert_rules: tuple[str, str]
    # The cloud whose DNS service holds every region's failover names (Route 53): a drill tearing it down keeps it.
    failover_dns: bool = False


AWS = CloudProfile(
    id="aws", kubernetes="EKS",
    required_keys=("region",),
    optional_keys=("accountId", "kubernetesVersion", "apiAccessCidrs", "spot", "adminRoleArn", "offeredGpus",
                   "capacityReservations", "registryCredentials", "imageMirror"),
    catalog=CatalogFields(
        region_fields=frozenset({"name", "partition", "country", "continent", "zones"}), location_field="name",
        partitioned=True, zone_separator="", machine_listing="aws_instance_types",
        machine_fields=frozenset({"name", "gpu_count", "vcpu", "memory_mib"}), machine_shape=True,
        accelerator_type=False),
    network_cidr="10.10.0.0/16", public_subnets=True, pods_cidr=None, services_cidr=None, master_cidr=None,
    system_machine_type="m7i.xlarge",
    # The streamer lists with boto3 (IRSA web identity through regional STS) and reads through the AWS SDK's S3
    # client, virtual-hosted in the bucket's region: the hosts below. https://github.com/run-ai/runai-model-streamer
    # (docs/src/usage.md "S3 authentication"). AWS: "make one concurrent request for each 85–90 MB/s of desired
    # network throughput" https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance-design-patterns.html
    weights_load="stream", bucket_mb_s_per_connection=85.0,
    # Path-style and virtual-hosted S3 names, and regional STS for IRSA's AssumeRoleWithWebIdentity.
    platform_hosts=(
        ("*.s3.{region}.{dns_suffix}", "the weight bucket, virtual-hosted (<bucket>.s3.<region>…); ECR's image layers"),
        ("s3.{region}.{dns_suffix}", "the weight bucket, path-style requests"),
        ("sts.{region}.{dns_suffix}", "IRSA: AssumeRoleWithWebIdentity for the bucket reader's role"),
    ),
    node_hosts=(
        ("*.{region}.eks.{dns_suffix}", "the cluster's API endpoint (<id>.<gr>.<region>.eks…): kubelets, Cilium"),
        ("api.ecr.{region}.{dns_suffix}", "ECR's API: image pull tokens"),
        ("*.dkr.ecr.{region}.{dns_suffix}", "images: EKS add-ons' and the stack's pull-through mirrors "
                                            "(<account>.dkr.ecr.<region>…); layers come from S3 "
                                            "(prod-<region>-starport-layer-bucket)"),
        ("prod-{region}-starport-layer-bucket.s3.{dns_suffix}", "ECR's image layers by the S3 global endpoint's name, "
                                                               "which ECR may hand out for a layer download"),
        ("ec2.{region}.{dns_suffix}", "Cilium's operator attaches ENIs and assigns pod addresses (ENI mode); the EBS "
                                      "CSI controller"),
        ("*.ec2.internal", "EC2 private host names in us-east-1 (ip-10-10-….ec2.internal), which DNS Firewall filters"),
        ("*.{region}.compute.internal", "EC2 private host names in the other regions"),
        ("nvcr.io", "the NVIDIA device plugin's and dcgm-exporter's images (nvcr.io/nvidia/k8s/…): ECR's "
                    "pull-through cache takes no NVIDIA upstream"),
        ("sqs.{region}.{dns_suffix}", "Karpenter's interruption queue (spot interruptions, instance health events)"),
        ("ssm.{region}.{dns_suffix}", "Karpenter resolves the EKS AMI alias through AWS's public SSM parameters"),
        ("eks.{region}.{dns_suffix}", "Karpenter's DescribeCluster (the service CIDR of AL2023 nodes)"),
    ),
    # ECR pull-through cache rules; ECR names them by repository prefix (2-30 characters, `/` allowed).
    # https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache.html
    mirrors=(
        RegistryMirror("docker.io", "docker-hub", "registry-1.docker.io", "dockerHub"),
        RegistryMirror("ghcr.io", "ghcr", "ghcr.io", "ghcr"),
        RegistryMirror("quay.io", "quay", "quay.io", None),
        RegistryMirror("registry.k8s.io", "k8s", "registry.k8s.io", None),      # kube-state-metrics
        RegistryMirror("public.ecr.aws", "ecr-public", "public.ecr.aws", None),  # Karpenter's controller
    ),
    mirror_name="{stack}/{name}",
    # https://docs.amazonaws.cn/en_us/AmazonECR/latest/userguide/pull-through-cache.html (considerations)
    prefilled_partitions=("aws-cn",),
    # ECR creates and fills a pull-through repository only on a pull by tag: a first pull by digest (`repo@sha256:…`,
    # also `repo:tag@sha256:…`) finds nothing (https://github.com/aws/containers-roadmap/issues/2837, 2026-07, open;
    # the user guide's pull syntax names tags only: https://docs.aws.amazon.com/AmazonECR/latest/userguide/
    # pull-through-cache-working.html).
    pull_through_by_digest=False,
    identity_providers=(),
    lb_annotations=(("service.beta.kubernetes.io/aws-load-balancer-type", "nlb"),),
    lb_status_field="hostname", proxy_cidr=None,
    # An NLB TLS listener with the ACM certificate (EKS's built-in cloud provider, no controller to install):
    # TLS 1.3/1.2 only, plain TCP to the gateway pods inside the VPC.
    # https://kubernetes.io/docs/reference/labels-annotations-taints/#service-beta-kubernetes-io-aws-load-balancer-ssl-cert
    lb_tls_annotations=(
        ("service.beta.kubernetes.io/aws-load-balancer-ssl-cert", "{certificate}"),
        ("service.beta.kubernetes.io/aws-load-balancer-ssl-ports", "https"),
        ("service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy", "ELBSecurityPolicy-TLS13-1-2-2021-06"),
        ("service.beta.kubernetes.io/aws-load-balancer-backend-protocol", "tcp"),
    ),
 lb_alias_type="network", upgrades_in_window=False,
    # The families EC2 Capacity Blocks for ML exist for (A100, H100, H200, B200): scarce on demand.
    # https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/capacity-blocks-using.html
    reservation_families=("p4d.", "p4de.", "p5.", "p5e.", "p5en.", "p6-b200."),
    # kube-prometheus-stack in the cluster (the region's own; Amazon Managed Prometheus is not in every partition);
    # KEDA reads its operator's `prometheus-operated` Service. Karpenter launches GPU nodes for pending replicas.
    elastic=ElasticServing(
        metrics_pipeline="kube-prometheus-stack (ServiceMonitor)", scrape="serviceMonitor",
        query_address="http://prometheus-operated.monitoring.svc:9090", keda_identity="",
        node_autoscaler="Karpenter", machine_fallback=True, prometheus_in_cluster=True,
        scraper=("monitoring", (("app.kubernetes.io/name", "prometheus"),)),
        # Assumption: Karpenter batches pending pods for 1-10 s, EC2 launches the instance, the AL2023 NVIDIA AMI
        # boots and joins, Cilium's agent lifts the startup taint and the device plugin registers the GPUs: ~2 min.
        gpu_node_ready_s=120),
    # https://prometheus-operator.dev/docs/developer/alerting/
    alert_rules=("monitoring.coreos.com/v1", "PrometheusRule"),
    failover_dns=True,
)

GCP = CloudProfile(
    id="gcp", kubernetes="GKE",
    required_keys=("region", "project"),
    optional_keys=("releaseChannel", "apiAccessCidrs", "spot", "offeredGpus"),
    catalog=CatalogFields(
        region_fields=frozenset({"location", "country", "continent", "zones"}), location_field="location",
        partitioned=False, zone_separator="-", machine_listing="gcp_machine_types",
        machine_fields=frozenset({"name", "gpu_count", "vcpu", "memory_mib", "gke_accelerator"}), machine_shape=True,
        accelerator_type=True),
    network_cidr="10.20.0.0/16", public_subnets=False, pods_cidr="10.64.0.0/14", services_cidr="10.68.0.0/20",
    master_cidr="172.16.0.0/28",
    system_machine_type="e2-standard-4",
    # The streamer reads GCS through Application Default Credentials (GKE's metadata server under Workload
    # Identity) on storage.googleapis.com; Google documents it for vLLM on GKE:
    # https://cloud.google.com/kubernetes-engine/docs/how-to/persistent-volumes/run-ai-model-streamer
    # Assumption: Google publishes no per-connection GCS throughput that was found; S3's figure is taken.
    weights_load="stream", bucket_mb_s_per_connection=85.0,
    # GKE Workload Identity exchanges tokens with STS and IAM credentials, then reads GCS.
    platform_hosts=(
        ("iamcredentials.googleapis.com", "Workload Identity: the service account's access token"),
        ("oauth2.googleapis.com", "Google's token endpoint the client libraries call"),
        ("storage.googleapis.com", "the weight bucket (GCS JSON and XML APIs)"),
        ("sts.googleapis.com", "Workload Identity: the federated token exchange"),
    ),
    node_hosts=(
        # Private Google Access: these names resolve to private.googleapis.com (egress_network's private zones).
        ("*.googleapis.com", "Private Google Access: every Google API the nodes and GKE's agents call (logging, "
                             "monitoring, container analysis, the weight bucket), on Google's own network"),
        ("gcr.io", "Private Google Access: GKE's system images and the Google Cloud CLI image (gcr.io)"),
        ("*.gcr.io", "Private Google Access: GKE's system images (gke.gcr.io, …)"),
        ("pkg.dev", "Private Google Access: Artifact Registry"),
        ("*.pkg.dev", "Private Google Access: GKE's and Artifact Registry's images (<region>-docker.pkg.dev, …)"),
    ),
    # Artifact Registry remote repositories: Docker Hub by its preset, GHCR by URI; public upstreams need no
    # credentials. https://cloud.google.com/artifact-registry/docs/repositories/remote-repo
    mirrors=(
        RegistryMirror("docker.io", "docker-hub", "DOCKER_HUB", None),
        RegistryMirror("ghcr.io", "ghcr", "https://ghcr.io", None),
    ),
    mirror_name="{stack}-{name}",
    prefilled_partitions=(),
    # A remote repository fetches what is asked of it, a manifest by digest included.
    pull_through_by_digest=True,
    # Vertex as the gateway's Google service account through Workload Identity: no service-account key to hold.
    # generateContent on publisher models needs aiplatform.endpoints.predict only (roles/aiplatform.user would also
    # let it create and delete datasets, endpoints and jobs).
    identity_providers=(("google_vertex_ai", "aiplatform.endpoints.predict"),),
    lb_annotations=(),
    lb_status_field="ip",
    # A GKE L4 load balancer cannot terminate TLS: the public endpoint is a Gateway (components/gcp/public_endpoint.py).
    lb_tls_annotations=(), proxy_cidr="10.20.254.0/23", lb_alias_type=None, upgrades_in_window=True,
    # A3 (H100/H200) and A4 (B200): Google points these at reservations or Dynamic Workload Scheduler.
    # https://cloud.google.com/compute/docs/accelerator-optimized-machines#consumption_options
    reservation_families=("a3-", "a4-"),
    # Managed Service for Prometheus collects what PodMonitorings name (it ignores ServiceMonitors); KEDA queries
    # its Prometheus API as its own Workload Identity (keda.sh/docs/latest/scalers/prometheus, "Google Managed
    # Prometheus"; kedacore/keda#4675). The cluster autoscaler adds nodes to the pool sized for the model.
    elastic=ElasticServing(
        metrics_pipeline="Managed Service for Prometheus (PodMonitoring)", scrape="podMonitoring",
        query_address="https://monitoring.googleapis.com/v1/projects/{project}/location/global/prometheus",
        keda_identity="gcp", node_autoscaler="the cluster autoscaler", machine_fallback=False,
        # GKE's DCGM component and managed collection come with the cluster (monitoring_config); the collectors
        # run in gmp-system. https://cloud.google.com/stackdriver/docs/managed-prometheus/troubleshooting
        prometheus_in_cluster=False, scraper=("gmp-system", (("app.kubernetes.io/name", "collector"),)),
        # Assumption: the cluster autoscaler scans every 10 s, the VM is created and joins, then GKE's driver
        # installer DaemonSet loads the NVIDIA driver before the GPUs are allocatable: ~4 min.
        gpu_node_ready_s=240,
        # https://cloud.google.com/stackdriver/docs/managed-prometheus/setup-managed#authorization (RBAC for secrets)
        scraper_account=("gmp-system", "collector")),
    # https://cloud.google.com/stackdriver/docs/managed-prometheus/rules-managed
    alert_rules=("monitoring.googleapis.com/v1", "Rules"),
)

PROFILES: Mapping[str, CloudProfile] = MappingProxyType({p.id: p for p in (AWS, GCP)})
CLOUDS: tuple[str, ...] = tuple(PROFILES)


def profile(cloud: str) -> CloudProfile:
    return PROFILES[cloud]
