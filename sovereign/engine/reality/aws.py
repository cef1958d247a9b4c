"""What EKS enforces on node groups and cluster access."""

from __future__ import annotations

import datetime
import json
import re

from ...catalog import load_catalog
from ...domain.evidence import CLOUDWATCH_RETENTION_DAYS
from .engine import Graph, rule

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
CLUSTER = "aws:eks/cluster:Cluster"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
# What would own a node group's desired size if the program ignored it: nothing of the kind is installed.
AUTOSCALERS = ("cluster-autoscaler", "karpenter")


@rule("eks-node-group-desired-size-tracked",
      "AWS EKS API Reference, NodegroupScalingConfig: desiredSize must be >= minSize; UpdateNodegroupConfig "
      "rejects a minSize above the current desired size (\"Minimum capacity 2 can't be greater than desired "
      "size 1\"); https://docs.aws.amazon.com/eks/latest/APIReference/API_NodegroupScalingConfig.html")
def desired_size_tracked(graph: Graph, _decisions):
    """A desired size the program ignores stays where the first `pulumi up` put it: a later minimum above it
    (a drill raising the survivor's floor) is refused by EKS. Only an autoscaler may own it."""
    autoscaled = any(name in r.urn for r in graph.resources for name in AUTOSCALERS)
    for group in graph.of_type(NODE_GROUP):
        scaling = group.inputs.get("scalingConfig") or {}
        low, high, desired = (scaling.get(k) for k in ("minSize", "maxSize", "desiredSize"))
        ignored = any(path.startswith("scalingConfig") for path in group.options.get("ignoreChanges") or [])
        if desired is None or not (low <= desired <= high):
            yield group.urn, f"desiredSize {desired} outside [{low}, {high}]", "set desiredSize within min and max"
        elif ignored and not autoscaled:
            yield (group.urn, "scalingConfig.desiredSize is ignored but no autoscaler owns it",
                   "track desiredSize (= the plan's minimum) until an autoscaler is installed")


@rule("eks-access-entry-not-the-bootstrapped-creator",
      "AWS EKS User Guide, access entries: with bootstrapClusterCreatorAdminPermissions the creator already "
      "has an access entry, and CreateAccessEntry for the same principal fails with ResourceInUseException "
      "(409); https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateAccessEntry.html")
def access_entry_vs_bootstrap(graph: Graph, _decisions):
    """An explicit admin entry beside the bootstrapped creator breaks as soon as the deployer is that admin."""
    entries = list(graph.of_type(ACCESS_ENTRY))
    for cluster in graph.of_type(CLUSTER):
        bootstrap = (cluster.inputs.get("accessConfig") or {}).get("bootstrapClusterCreatorAdminPermissions")
        # Node roles' entries (EC2_LINUX) name no person: only a STANDARD entry can be the creator's.
        clashing = [e for e in entries if cluster.urn in graph_dependencies(e)
                    and e.inputs.get("type", "STANDARD") == "STANDARD"]
        if bootstrap and clashing:
            yield (cluster.urn, "bootstraps the creator as admin and also creates an admin access entry",
                   "manage admins explicitly: bootstrapClusterCreatorAdminPermissions false, the admin role's "
                   "access entry, and the deployer reaching the cluster through that role")


def graph_dependencies(resource) -> set[str]:
    """Every URN a resource's inputs came from, and its explicit dependsOn."""
    return {u for urns in resource.dependencies.values() for u in urns} | set(resource.options.get("dependsOn") or [])


# Time to plan and roll an upgrade before standard support ends.
UPGRADE_NOTICE_DAYS = 30


@rule("eks-version-in-standard-support",
      "Amazon EKS User Guide, Kubernetes release calendar and cluster upgrade policy: after standard support "
      "ends a cluster moves to extended support (billed) unless upgradePolicy.supportType is STANDARD, which "
      "auto-upgrades it; https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html")
def version_in_standard_support(graph: Graph, _decisions):
    """A cluster on a version near the end of standard support is upgraded by AWS or billed for extended
    support; the plan must pick a supported version and say which support it takes."""
    versions = load_catalog().eks_versions
    today = datetime.date.today()
    for cluster in graph.of_type(CLUSTER):
        version = versions.get(str(cluster.inputs.get("version")))
        support = (cluster.inputs.get("upgradePolicy") or {}).get("supportType")
        if version is None and "version" in cluster.inputs:  # without one, EKS takes its newest default
            yield cluster.urn, f"version {cluster.inputs.get('version')} is not in the catalog", \
                "use a version listed in sovereign/catalog/data/kubernetes.yaml"
        elif version is not None and version.standard_end - today < datetime.timedelta(days=UPGRADE_NOTICE_DAYS):
            yield (cluster.urn, f"EKS {version.version} leaves standard support on {version.standard_end}",
                   "set sovereign:clouds.aws.kubernetesVersion to a newer version (and upgrade the cluster)")
        if support != "STANDARD":
            yield (cluster.urn, f"upgradePolicy.supportType is {support or 'unset (EKS default: EXTENDED)'}",
                   "set supportType STANDARD so the cluster is never billed for extended support silently")


@rule("cloudwatch-log-retention-is-one-it-takes",
      "Amazon CloudWatch Logs API, PutRetentionPolicy: retentionInDays takes only 1, 3, 5, 7, 14, 30, 60, 90, 120, "
      "150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653 (InvalidParameterException "
      "otherwise); https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html")
def log_retention_taken(graph: Graph, _decisions):
    """A log group with another retention is refused at creation; one without any keeps logs forever."""
    for group in graph.of_type("aws:cloudwatch/logGroup:LogGroup"):
        days = group.inputs.get("retentionInDays")
        if days not in CLOUDWATCH_RETENTION_DAYS:
            yield (group.urn, f"retentionInDays {days!r} is not one CloudWatch Logs takes",
                   "use one of the listed periods (sovereign:logRetentionDays)")


HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
ADDON = "aws:eks/addon:Addon"
CILIUM_POLICY = "kubernetes:cilium.io/v2:CiliumNetworkPolicy"
NOT_READY = {"key": "node.cilium.io/agent-not-ready", "value": "true", "effect": "NO_EXECUTE"}


@rule("eks-cilium-fqdn-fence-in-a-supported-mode",
      "Cilium docs, Installation using Helm (EKS: ENI mode, aws-node out of the way, node groups tainted "
      "node.cilium.io/agent-not-ready:NoExecute, on Karpenter's nodes as startupTaints; "
      "https://docs.cilium.io/en/stable/installation/k8s-install-helm/, https://karpenter.sh/docs/concepts/nodepools/) "
      "and AWS-CNI chaining, which supports no L7 policy, FQDN rules included (cilium/cilium#17122; "
      "https://docs.cilium.io/en/stable/installation/cni-chaining-aws-cni/)")
def cilium_supported_mode(graph: Graph, _decisions):
    """FQDN policies hold only with Cilium as the CNI in ENI mode: no VPC CNI beside it (EKS's self-managed
    aws-node or the vpc-cni add-on would fight over the ENIs), installed without waiting for node groups (which
    complete only once their nodes are Ready, which needs the CNI), and every node tainted until its agent runs,
    or pods start unfenced."""
    cilium = [r for r in graph.of_type(HELM_RELEASE) if r.inputs.get("chart") == "cilium"]
    if not cilium or not list(graph.of_type(CILIUM_POLICY)):
        return
    values = cilium[0].inputs.get("values") or {}
    if (values.get("cni") or {}).get("chainingMode") or not (values.get("eni") or {}).get("enabled"):
        yield (cilium[0].urn, "FQDN policies under Cilium outside ENI mode (chained to the AWS CNI: no L7 support)",
               "run Cilium as the only CNI: eni.enabled, ipam.mode eni, routingMode native")
    for cluster in graph.of_type(CLUSTER):
        if cluster.inputs.get("bootstrapSelfManagedAddons") is not False:
            yield (cluster.urn, "EKS installs its own aws-node CNI beside Cilium", "set bootstrapSelfManagedAddons false")
    for addon in graph.of_type(ADDON):
        if addon.inputs.get("addonName") == "vpc-cni":
            yield addon.urn, "the VPC CNI add-on beside Cilium in ENI mode", "remove the vpc-cni add-on"
    provider = graph.by_urn.get(cilium[0].provider)
    waits_for = graph.upstream(provider) if provider else set()
    if any(graph.by_urn[u].type == NODE_GROUP for u in waits_for if u in graph.by_urn):
        yield (cilium[0].urn, "the CNI is installed only after node groups, which EKS finishes only once their "
               "nodes are Ready, which needs the CNI", "install Cilium through a provider that waits for no node group")
    for group in graph.of_type(NODE_GROUP):
        if NOT_READY not in (group.inputs.get("taints") or []):
            yield (group.urn, "nodes untainted until Cilium's agent runs: pods may start unfenced",
                   "taint the group node.cilium.io/agent-not-ready=true:NoExecute")
    from .karpenter import NODE_POOL  # karpenter's rules build on this module's helpers
    for pool in graph.of_type(NODE_POOL):
        startup = ((pool.inputs.get("spec") or {}).get("template", {}).get("spec", {}).get("startupTaints") or [])
        if {"key": NOT_READY["key"], "value": "true", "effect": "NoExecute"} not in startup:
            yield (pool.urn, "Karpenter's nodes untainted until Cilium's agent runs: pods may start unfenced",
                   "add node.cilium.io/agent-not-ready=true:NoExecute to the NodePool's startupTaints")


BUCKET = "aws:s3/bucket:Bucket"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
BUCKET_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"


@rule("s3-access-logs-into-an-sse-s3-bucket-of-their-own",
      "Amazon S3 User Guide, enabling server access logging: the destination bucket's default encryption can only "
      "be SSE-S3 (AES256), not SSE-KMS, and logging a bucket into itself logs its own log writes forever; "
      "https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html")
def access_log_target(graph: Graph, _decisions):
    """S3 delivers no access log into an SSE-KMS bucket: the evidence would silently never arrive."""
    for logging in graph.of_type(BUCKET_LOGGING):
        target = graph.linked(logging, "targetBucket", BUCKET)
        source = graph.linked(logging, "bucket", BUCKET)
        if target is None:
            continue
        if source is not None and source.urn == target.urn:
            yield logging.urn, "logs a bucket into itself", "log into a bucket of its own"
        for sse in graph.of_type(BUCKET_SSE):
            if graph.linked(sse, "bucket", BUCKET) == target:
                algorithms = {(r.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm")
                              for r in sse.inputs.get("rules") or []}
                if algorithms - {"AES256"}:
                    yield (logging.urn, f"its target bucket is encrypted with {', '.join(sorted(a for a in algorithms if a))}",
                           "encrypt the log bucket with SSE-S3 (AES256)")


FLOW_LOG = "aws:ec2/flowLog:FlowLog"
ROLE = "aws:iam/role:Role"
FLOW_LOG_INTERVALS = (60, 600)


@rule("vpc-flow-logs-deliverable-to-cloudwatch",
      "Amazon VPC User Guide, publish flow logs to CloudWatch Logs: CreateFlowLogs needs a delivery role "
      "(DeliverLogsPermissionArn) that vpc-flow-logs.amazonaws.com may assume, and takes a maximum aggregation "
      "interval of 60 or 600 seconds; https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-cwl.html")
def flow_logs_deliverable(graph: Graph, _decisions):
    """Without the role, or with one the service cannot assume, the flow log is refused or never delivers."""
    for flow in graph.of_type(FLOW_LOG):
        if flow.inputs.get("maxAggregationInterval", 600) not in FLOW_LOG_INTERVALS:
            yield flow.urn, "maxAggregationInterval must be 60 or 600", "use 60 (or 600) seconds"
        if flow.inputs.get("logDestinationType", "cloud-watch-logs") != "cloud-watch-logs":
            continue
        role = graph.linked(flow, "iamRoleArn", ROLE)
        principals = [str(s.get("Principal")) for s in _statements(role.inputs.get("assumeRolePolicy"))] if role else []
        if role is None or not any("vpc-flow-logs.amazonaws.com" in p for p in principals):
            yield (flow.urn, "publishes to CloudWatch Logs without a role vpc-flow-logs.amazonaws.com may assume",
                   "give it an iamRoleArn trusting vpc-flow-logs.amazonaws.com, allowed to write its log group")


def _statements(policy) -> list[dict]:
    try:
        return list(json.loads(policy).get("Statement") or []) if isinstance(policy, str) else []
    except ValueError:
        return []


ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ENDPOINT_POLICY = "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy"


@rule("s3-endpoint-policy-keeps-ecr-image-layers",
      "Amazon ECR User Guide, interface VPC endpoints, minimum Amazon S3 bucket permissions: ECR serves image "
      "layers from prod-<region>-starport-layer-bucket, which an S3 gateway endpoint policy must allow "
      "(s3:GetObject); https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html")
def s3_endpoint_keeps_ecr(graph: Graph, _decisions):
    """A scoped S3 endpoint on the nodes' route tables that forgets ECR's layer bucket stops every image pull, the
    EKS add-ons' (coredns, kube-proxy) included: nodes never become Ready."""
    if not any(graph.of_type(NODE_GROUP)):
        return
    for policy in graph.of_type(ENDPOINT_POLICY, ENDPOINT):
        endpoint = policy if policy.type == ENDPOINT else graph.linked(policy, "vpcEndpointId", ENDPOINT)
        service = str((endpoint.inputs if endpoint else {}).get("serviceName", ""))
        document = policy.inputs.get("policy")
        if not service.endswith(".s3") or not document:
            continue
        region = service.split(".")[-2]
        layers = f"prod-{region}-starport-layer-bucket/*"
        allowed = [s for s in json.loads(document).get("Statement", []) if s.get("Effect") == "Allow"
                   and any(a in ("s3:GetObject", "s3:*", "*") for a in _list(s.get("Action")))
                   and any(str(r).endswith(f":s3:::{layers}") or r == "*" for r in _list(s.get("Resource")))]
        if not allowed:
            yield (policy.urn, f"the S3 endpoint's policy does not allow s3:GetObject on {layers}",
                   "allow ECR's layer bucket in the endpoint policy")


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


PULL_THROUGH = "aws:ecr/pullThroughCacheRule:PullThroughCacheRule"
# CreatePullThroughCacheRule: the upstreams ECR caches, and those it reaches only with credentials.
PULL_THROUGH_UPSTREAMS = ("public.ecr.aws", "registry.k8s.io", "quay.io", "registry-1.docker.io", "ghcr.io",
                          "registry.gitlab.com")
PULL_THROUGH_NEEDS_CREDENTIALS = ("registry-1.docker.io", "ghcr.io", "registry.gitlab.com")
_PREFIX = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
_SECRET = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-zA-Z0-9-:]+:secret:ecr-pullthroughcache/[a-zA-Z0-9/_+=.@-]+$")


@rule("ecr-pull-through-rule-accepted",
      "Amazon ECR API Reference, CreatePullThroughCacheRule: ecrRepositoryPrefix 2-30 characters of the repository "
      "name pattern; the supported upstream registry URLs; credentialArn a Secrets Manager secret named "
      "ecr-pullthroughcache/…, required for Docker Hub, GitHub and GitLab; https://docs.aws.amazon.com/AmazonECR/"
      "latest/APIReference/API_CreatePullThroughCacheRule.html; not offered in the China regions: "
      "https://docs.amazonaws.cn/en_us/AmazonECR/latest/userguide/pull-through-cache.html")
def pull_through_accepted(graph: Graph, _decisions):
    """A rule ECR refuses (or a Docker Hub cache without credentials, which pulls nothing)."""
    for cache in graph.of_type(PULL_THROUGH):
        prefix, upstream = str(cache.inputs.get("ecrRepositoryPrefix", "")), cache.inputs.get("upstreamRegistryUrl")
        credential = cache.inputs.get("credentialArn")
        if not (2 <= len(prefix) <= 30 and _PREFIX.match(prefix)):
            yield cache.urn, f"repository prefix '{prefix}' is not 2-30 characters of [a-z0-9._-/]", \
                "shorten the stack's name or the mirror's"
        if str(graph.provider_inputs(cache).get("region", "")).startswith("cn-"):
            yield cache.urn, "ECR has no pull-through cache in AWS China", \
                "mirror into repositories filled beforehand (the cloud profile's prefilled_partitions)"
        if upstream not in PULL_THROUGH_UPSTREAMS:
            yield cache.urn, f"ECR caches no upstream '{upstream}'", f"use one of {', '.join(PULL_THROUGH_UPSTREAMS)}"
        elif upstream in PULL_THROUGH_NEEDS_CREDENTIALS and not (credential and _SECRET.match(str(credential))):
            yield cache.urn, f"{upstream} needs credentials from a secret named ecr-pullthroughcache/…", \
                "set credentialArn to that secret's ARN"


@rule("ecr-pull-through-first-pull-permitted",
      "Amazon ECR User Guide, IAM permissions for pull through cache: the principal whose pull first caches an "
      "image creates its repository, so it needs ecr:CreateRepository and ecr:BatchImportUpstreamImage; "
      "https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-iam.html")
def pull_through_permitted(graph: Graph, _decisions):
    """Nodes with only the read-only registry policy get 'repository does not exist' on every mirrored image."""
    if not any(graph.of_type(PULL_THROUGH)):
        return
    from .karpenter import NODE_CLASS, node_role  # karpenter's rules build on this module's helpers
    launchers = [(g, graph.linked(g, "nodeRoleArn", "aws:iam/role:Role")) for g in graph.of_type(NODE_GROUP)]
    launchers += [(c, node_role(graph, c)) for c in graph.of_type(NODE_CLASS)]
    for group, role in launchers:
        if role is None:
            continue
        granted = {a for p in graph.of_type("aws:iam/rolePolicy:RolePolicy") if role.urn in graph_dependencies(p)
                   for s in json.loads(p.inputs.get("policy") or "{}").get("Statement", []) if s.get("Effect") == "Allow"
                   for a in _list(s.get("Action"))}
        missing = [a for a in ("ecr:CreateRepository", "ecr:BatchImportUpstreamImage") if a not in granted]
        if missing:
            yield group.urn, f"its nodes pull through ECR caches without {', '.join(missing)}", \
                "grant the node role those actions on the caches' repository prefixes"


# Charts that name images by digest unless told not to: chart → (values path of the image, the key that turns the
# digest off). Cilium 1.20.0 (install/kubernetes/cilium/values.yaml useDigest: true), Karpenter 1.14.1
# (charts/karpenter/values.yaml controller.image.digest, filled at release) and this project's model-server chart;
# KEDA's, kube-prometheus-stack's and NVIDIA's charts name theirs by tag.
DIGEST_BY_DEFAULT = {
    "cilium": ((("image",), "useDigest"), (("operator", "image"), "useDigest"), (("envoy", "image"), "useDigest")),
    "karpenter": ((("controller", "image"), "digest"),),
    "model-server": ((("image",), "digest"), (("weights", "prefetch", "awsImage"), "digest")),
}
WORKLOADS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:DaemonSet", "kubernetes:apps/v1:StatefulSet",
             "kubernetes:batch/v1:Job")


@rule("ecr-pull-through-cache-first-pull-by-tag",
      "ECR creates and fills a pull-through repository on a pull by tag; a first pull by digest (repo@sha256:…, "
      "repo:tag@sha256:…) of an image not yet cached finds nothing (https://github.com/aws/containers-roadmap/issues/"
      "2837, open 2026-07; pull syntax by tag: https://docs.aws.amazon.com/AmazonECR/latest/userguide/"
      "pull-through-cache-working.html)")
def pull_through_by_tag(graph: Graph, _decisions):
    """An image named by digest through the cache never pulls on a new region: Cilium's agent (the nodes' network),
    Karpenter (every GPU node) or a model server stay in ImagePullBackOff."""
    prefixes = [f"/{c.inputs.get('ecrRepositoryPrefix')}/" for c in graph.of_type(PULL_THROUGH)]
    if not prefixes:
        return
    for release in graph.of_type("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"):
        chart = str(release.inputs.get("chart", "")).rstrip("/").rsplit("/", 1)[-1]
        defaults = dict(DIGEST_BY_DEFAULT.get(chart, ()))
        for path, image in _images(release.inputs.get("values") or {}, ()):
            named = f"{image.get('registry', '')}/{image.get('repository', '')}"
            if not any(p in named for p in prefixes):
                continue
            off = defaults.get(path)     # the chart's own digest, unless its key is set here
            if image.get("digest") or image.get("sha") or image.get("useDigest") is True or (off and off not in image):
                setting = f"{'.'.join((*path, off or 'digest'))}: {'false' if off == 'useDigest' else 'empty'}"
                yield (release.urn, f"{'.'.join(path)} goes through an ECR pull-through cache by digest",
                       f"name it by tag there ({setting})")
    for workload in graph.of_type(*WORKLOADS):
        pod = (((workload.inputs.get("spec") or {}).get("template") or {}).get("spec") or {})
        for container in [*(pod.get("containers") or []), *(pod.get("initContainers") or [])]:
            image = str(container.get("image", ""))
            if "@sha256:" in image and any(p in image for p in prefixes):
                yield (workload.urn, f"container {container.get('name')} pulls {image} through an ECR pull-through "
                       "cache by digest", "name it by tag there")


def _images(values: dict, path: tuple[str, ...]):
    """(path, mapping) of every mapping in chart values that names an image's repository or registry."""
    if "repository" in values or "registry" in values:
        yield path, values
    for key, value in values.items():
        if isinstance(value, dict):
            yield from _images(value, (*path, key))


@rule("kms-key-policy-keeps-the-account-in",
      "AWS KMS Developer Guide, default key policy: the statement giving the account (root) kms:* lets IAM "
      "policies grant access; PutKeyPolicy refuses a policy that would lock the caller out unless its safety check "
      "is bypassed, and a key nobody may manage can't be repaired without AWS Support; "
      "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html")
def key_policy_keeps_account(graph: Graph, _decisions):
    """An explicit key policy replaces the default one: without the account's statement IAM grants no longer count."""
    for key in graph.of_type("aws:kms/key:Key"):
        document = key.inputs.get("policy")
        if not document:
            continue
        kept = [s for s in json.loads(document).get("Statement", []) if s.get("Effect") == "Allow"
                and str((s.get("Principal") or {}).get("AWS", "")).endswith(":root")
                and "kms:*" in _list(s.get("Action"))]
        if not kept:
            yield key.urn, "its key policy has no statement letting the account's IAM manage and use it", \
                "keep the default statement: Allow arn:<partition>:iam::<account>:root kms:*"


SSL_CERT_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert"


@rule("elb-tls-listener-takes-an-issued-certificate",
      "Elastic Load Balancing, TLS listeners for Network Load Balancers: the listener's certificate must be an "
      "issued ACM (or imported) certificate, a pending one is refused (UnsupportedCertificate), and ACM issues a "
      "DNS-validated certificate only once its validation records resolve; https://docs.aws.amazon.com/"
      "elasticloadbalancing/latest/network/create-tls-listener.html")
def tls_listener_issued(graph: Graph, _decisions):
    """A Service whose load balancer would be given a certificate still pending validation never gets its
    listener: the public endpoint stays down until someone re-applies."""
    validations = {v.urn for v in graph.of_type("aws:acm/certificateValidation:CertificateValidation")}
    for service in graph.of_type("kubernetes:core/v1:Service"):
        annotations = (service.inputs.get("metadata") or {}).get("annotations") or {}
        if SSL_CERT_ANNOTATION in annotations and not validations & graph_dependencies(service):
            yield (service.urn, "its TLS listener's certificate is not waited for until ACM issues it",
                   "take the ARN from the certificate's aws.acm.CertificateValidation (certificate_arn)")


ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


@rule("cloudwatch-alarm-and-metric-filter-accepted",
      "Amazon CloudWatch API Reference, PutMetricAlarm: Period is 10, 20, 30 or a multiple of 60; EvaluationPeriods "
      "times Period at most one day (86,400 s); DatapointsToAlarm at most EvaluationPeriods; "
      "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html; CloudWatch Logs "
      "PutMetricFilter: ResourceNotFoundException for a log group that does not exist; "
      "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutMetricFilter.html")
def alarm_and_filter_accepted(graph: Graph, _decisions):
    """An alarm CloudWatch refuses (its period, its evaluation window), or a metric filter created before the log
    group it reads (a group of the stack's, named as a literal without waiting for it)."""
    for alarm in graph.of_type(ALARM):
        period, periods = alarm.inputs.get("period"), alarm.inputs.get("evaluationPeriods")
        datapoints = alarm.inputs.get("datapointsToAlarm") or periods
        if not isinstance(period, int) or not (period in (10, 20, 30) or (period > 0 and period % 60 == 0)):
            yield alarm.urn, f"period {period} s", "use 10, 20, 30 or a multiple of 60 seconds"
        elif not isinstance(periods, int) or periods < 1 or periods * period > 86_400:
            yield alarm.urn, f"{periods} evaluation periods of {period} s", "evaluate at least one period, within a day"
        elif datapoints > periods:
            yield alarm.urn, f"{datapoints} datapoints to alarm out of {periods}", "at most evaluationPeriods"
    groups = {g.inputs.get("name"): g.urn for g in graph.of_type(LOG_GROUP)}
    for metric_filter in graph.of_type(METRIC_FILTER):
        group = groups.get(metric_filter.inputs.get("logGroupName"))
        if group is not None and group not in graph.upstream(metric_filter):
            yield (metric_filter.urn, "is created without waiting for its log group",
                   "pass the log group's name output (or depend on it)")


SERVICE = "kubernetes:core/v1:Service"
# Inbound rules a security group takes by default (VPC quotas), and what the in-tree cloud provider writes into the
# nodes' group for an NLB Service: per source range, the traffic rule and an ICMP (path MTU) rule; per NLB subnet, a
# health-check rule (externalTrafficPolicy Local). kubernetes/cloud-provider-aws pkg/providers/v1/aws_loadbalancer.go
SECURITY_GROUP_RULES, RULES_PER_RANGE, HEALTH_RULES = 60, 2, 3


@rule("nlb-source-ranges-fit-a-security-group",
      "Amazon VPC quotas: 60 inbound rules per security group by default "
      "(https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-security-groups); the "
      "in-tree AWS cloud provider writes two rules per loadBalancerSourceRanges entry for an NLB "
      "(https://github.com/kubernetes/cloud-provider-aws/blob/master/pkg/providers/v1/aws_loadbalancer.go)")
def nlb_source_ranges_fit(graph: Graph, _decisions):
    """Too many source ranges (clients plus Route 53's health checkers): the provider's rules are refused
    (RulesPerSecurityGroupLimitExceeded), the Service never gets its load balancer and `pulumi up` waits in vain."""
    for service in graph.of_type(SERVICE):
        spec = service.inputs.get("spec") or {}
        annotations = (service.inputs.get("metadata") or {}).get("annotations") or {}
        ranges = spec.get("loadBalancerSourceRanges") or []
        if annotations.get("service.beta.kubernetes.io/aws-load-balancer-type") != "nlb" or not ranges:
            continue
        rules = RULES_PER_RANGE * len(ranges) + HEALTH_RULES
        if rules > SECURITY_GROUP_RULES:
            yield (service.urn, f"{len(ranges)} source ranges make {rules} security group rules, above the "
                   f"{SECURITY_GROUP_RULES} a group takes", "list fewer client ranges (aggregate them), or raise the "
                   "account's rules-per-security-group quota and say so here")
