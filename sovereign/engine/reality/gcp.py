"""What GKE enforces on node pools."""

from __future__ import annotations

import re
from datetime import datetime

from ...catalog import load_catalog
from ...domain.maintenance import MIN_HOURS_IN_32_DAYS, hours_in_32_days
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


SERVICE = "gcp:projects/service:Service"
# The API each resource family is created through; a fresh project has none of them enabled.
API_OF = {
    "gcp:compute/": "compute.googleapis.com",
    "gcp:container/": "container.googleapis.com",
    "gcp:serviceaccount/account": "iam.googleapis.com",
    "gcp:dns/": "dns.googleapis.com",
    "gcp:artifactregistry/": "artifactregistry.googleapis.com",
    "gcp:kms/": "cloudkms.googleapis.com",
    "gcp:projects/iAMMember": "cloudresourcemanager.googleapis.com",
    "gcp:projects/iAMCustomRole": "iam.googleapis.com",
    "gcp:logging/": "logging.googleapis.com",
    "gcp:monitoring/": "monitoring.googleapis.com",
}


@rule("gcp-resources-wait-for-their-api",
      "Google Cloud, enabling an API in your project: calls to a service not enabled fail with 403 "
      "SERVICE_DISABLED; https://cloud.google.com/service-usage/docs/enable-disable")
def wait_for_api(graph: Graph, _decisions):
    """On a fresh project every resource must be created after the API it is created through is enabled
    (the Service resource), or the first `pulumi up` fails and only a second one succeeds."""
    enabled = {s.inputs.get("service"): s.urn for s in graph.of_type(SERVICE)}
    for resource in graph.resources:
        api = next((a for prefix, a in API_OF.items() if resource.type.startswith(prefix)), None)
        if api is None:
            continue
        if api not in enabled:
            yield resource.urn, f"{api} is never enabled", f"enable {api} with a gcp.projects.Service"
        elif enabled[api] not in graph.upstream(resource):
            yield resource.urn, f"does not wait for {api} to be enabled", "depend on the API's Service resource"


@rule("gke-workload-identity-bindings-wait-for-the-pool",
      "GKE Workload Identity: the PROJECT.svc.id.goog pool exists once a cluster with Workload Identity "
      "does; an IAM binding naming it before then is refused (\"Identity Pool does not exist\"); "
      "https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity")
def wi_bindings_wait(graph: Graph, _decisions):
    """A binding for `serviceAccount:<project>.svc.id.goog[ns/sa]` needs the cluster that creates the pool."""
    clusters = {c.urn for c in graph.of_type("gcp:container/cluster:Cluster")}
    for binding in graph.resources:
        if ".svc.id.goog[" in str(binding.inputs.get("member", "")) and not clusters & graph.upstream(binding):
            yield (binding.urn, "binds a Workload Identity member before any GKE cluster exists",
                   "make the binding depend on the cluster (its workload pool)")


@rule("gke-maintenance-window-allows-48h-in-32-days",
      "GKE, configure maintenance windows: at least 48 hours of maintenance availability in a 32-day rolling "
      "window, counting contiguous windows of at least four hours; "
      "https://cloud.google.com/kubernetes-engine/docs/how-to/maintenance-window")
def maintenance_window_long_enough(graph: Graph, _decisions):
    """GKE refuses a recurring window that leaves too little time for its upgrades."""
    for cluster in graph.of_type("gcp:container/cluster:Cluster"):
        window = ((cluster.inputs.get("maintenancePolicy") or {}).get("recurringWindow")) or {}
        if not window:
            continue
        start, end = (datetime.fromisoformat(window[k].replace("Z", "+00:00")) for k in ("startTime", "endTime"))
        days = re.search(r"BYDAY=([A-Z,]+)", window.get("recurrence", ""))
        per_week = len(days.group(1).split(",")) if days else 7
        hours = hours_in_32_days(per_week, int((end - start).total_seconds() // 3600))
        if hours < MIN_HOURS_IN_32_DAYS:
            yield (cluster.urn, f"its window ({window.get('recurrence')}, {start:%H:%M}-{end:%H:%M} UTC) allows "
                   f"{hours} h in some 32 days", f"allow at least {MIN_HOURS_IN_32_DAYS} h: more days or longer windows")


GCS_BUCKET = "gcp:storage/bucket:Bucket"
GCS_BUCKET_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
USAGE_LOG_WRITER = "group:cloud-storage-analytics@google.com"


@rule("gcs-usage-logs-writable-by-storage-analytics",
      "Cloud Storage, usage logs & storage logs: the log bucket must grant cloud-storage-analytics@google.com "
      "write access (roles/storage.objectCreator), or no log is ever delivered; "
      "https://cloud.google.com/storage/docs/access-logs")
def usage_logs_writable(graph: Graph, _decisions):
    """A bucket's `logging.logBucket` is written by Google's analytics group, which needs a grant there."""
    for bucket in graph.of_type(GCS_BUCKET):
        if not (bucket.inputs.get("logging") or {}).get("logBucket"):
            continue
        target = graph.linked(bucket, "logging", GCS_BUCKET)
        granted = any(m.inputs.get("member") == USAGE_LOG_WRITER and m.inputs.get("role") in (
                      "roles/storage.objectCreator", "roles/storage.legacyBucketWriter")
                      and target is not None and graph.linked(m, "bucket", GCS_BUCKET) == target
                      for m in graph.of_type(GCS_BUCKET_MEMBER))
        if not granted:
            yield (bucket.urn, "its usage logs go to a bucket cloud-storage-analytics@google.com may not write",
                   f"grant {USAGE_LOG_WRITER} roles/storage.objectCreator on the log bucket")


NGFW_RULES = ("gcp:compute/networkFirewallPolicyRule:NetworkFirewallPolicyRule",
              "gcp:compute/regionNetworkFirewallPolicyRule:RegionNetworkFirewallPolicyRule")
# Cloud NGFW's predefined lowest-priority goto_next rules, which no policy may replace.
NGFW_RESERVED_PRIORITY = 2147483644


@rule("ngfw-rule-priority-below-the-reserved-range",
      "Cloud NGFW, predefined rules for firewall policies: every policy holds unmodifiable goto_next rules at "
      "priorities 2147483644-2147483647, so a rule there collides with them; https://cloud.google.com/firewall/"
      "docs/pre-defined-rules")
def ngfw_priority(graph: Graph, _decisions):
    """A catch-all deny meant to come last must still come before the policy's own last rules."""
    for firewall_rule in graph.of_type(*NGFW_RULES):
        priority = firewall_rule.inputs.get("priority")
        if not isinstance(priority, int) or not 0 <= priority < NGFW_RESERVED_PRIORITY:
            yield (firewall_rule.urn, f"priority {priority} is outside 0-{NGFW_RESERVED_PRIORITY - 1}",
                   "give the rule a priority below Cloud NGFW's reserved goto_next rules")


@rule("gke-secrets-key-in-the-clusters-location-and-granted-first",
      "GKE, encrypt secrets at the application layer: the Cloud KMS key must be in the cluster's location, and the "
      "GKE service agent (service-<number>@container-engine-robot) needs Cloud KMS CryptoKey Encrypter/Decrypter on "
      "it before the cluster is created or updated; https://cloud.google.com/kubernetes-engine/docs/how-to/"
      "encrypting-secrets")
def secrets_key_usable(graph: Graph, _decisions):
    """A key in another location, or one GKE may not use yet, fails the cluster's creation."""
    grants = [g for g in graph.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
              if g.inputs.get("role") == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
              and "@container-engine-robot.iam.gserviceaccount.com" in str(g.inputs.get("member", ""))]
    for cluster in graph.of_type("gcp:container/cluster:Cluster"):
        encryption = cluster.inputs.get("databaseEncryption") or {}
        if encryption.get("state") != "ENCRYPTED":
            continue
        key = str(encryption.get("keyName", ""))
        location = key.split("/locations/", 1)[-1].split("/", 1)[0] if "/locations/" in key else None
        if location != cluster.inputs.get("location"):
            yield cluster.urn, f"its secrets key is in {location}, the cluster in {cluster.inputs.get('location')}", \
                "create the key ring in the cluster's region"
        upstream = graph.upstream(cluster)
        if not [g for g in grants if g.inputs.get("cryptoKeyId") == key and g.urn in upstream]:
            yield cluster.urn, "GKE's service agent may not use its secrets key before the cluster is created", \
                "grant roles/cloudkms.cryptoKeyEncrypterDecrypter to the agent and make the cluster depend on it"


REGIONAL_GATEWAY_CLASSES = ("gke-l7-regional-external-managed", "gke-l7-rilb")


@rule("gke-regional-gateway-has-a-proxy-only-subnet",
      "GKE, deploying Gateways: a regional (external or internal) Application Load Balancer's proxies run in a "
      "proxy-only subnet (purpose REGIONAL_MANAGED_PROXY, role ACTIVE) of the cluster's region and network; without "
      "one the Gateway is never programmed; https://cloud.google.com/kubernetes-engine/docs/how-to/deploying-gateways")
def regional_gateway_proxy_subnet(graph: Graph, _decisions):
    """A regional Gateway in a network without an active proxy-only subnet in its region gets no address."""
    regions = {s.inputs.get("region") for s in graph.of_type("gcp:compute/subnetwork:Subnetwork")
               if s.inputs.get("purpose") == "REGIONAL_MANAGED_PROXY" and s.inputs.get("role") == "ACTIVE"}
    clusters = {c.inputs.get("location") for c in graph.of_type("gcp:container/cluster:Cluster")}
    for gateway in graph.of_type("kubernetes:gateway.networking.k8s.io/v1:Gateway"):
        if (gateway.inputs.get("spec") or {}).get("gatewayClassName") in REGIONAL_GATEWAY_CLASSES \
                and not clusters <= regions:
            yield (gateway.urn, f"no active proxy-only subnet in {', '.join(sorted(clusters - regions))}",
                   "create a REGIONAL_MANAGED_PROXY subnet (role ACTIVE) in the cluster's network and region")


LOG_METRIC = "gcp:logging/metric:Metric"
ALERT_POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
_USER_METRIC = re.compile(r'metric\.type\s*=\s*"logging\.googleapis\.com/user/([^"]+)"')


@rule("gcp-alert-policy-waits-for-its-log-metric",
      "Cloud Logging API, projects.metrics (LogMetric.metricDescriptor: log-based metrics are DELTA, INT64 counters "
      "or DISTRIBUTION with a value extractor); https://cloud.google.com/logging/docs/reference/v2/rest/v2/"
      "projects.metrics; Cloud Monitoring refuses an alert policy on a user metric that does not exist yet (404 "
      "\"Cannot find metric(s) that match type\"): https://cloud.google.com/logging/docs/logs-based-metrics/"
      "charts-and-alerts")
def alert_policy_waits_for_log_metric(graph: Graph, _decisions):
    """A log-based metric of a kind Logging refuses, or an alert policy on a log-based metric of the stack's
    created before (or without) it."""
    metrics = {m.inputs.get("name"): m for m in graph.of_type(LOG_METRIC)}
    for metric in metrics.values():
        descriptor = metric.inputs.get("metricDescriptor") or {}
        kind, value = descriptor.get("metricKind"), descriptor.get("valueType")
        counter = value == "INT64" and not metric.inputs.get("valueExtractor")
        distribution = value == "DISTRIBUTION" and metric.inputs.get("valueExtractor")
        if kind != "DELTA" or not (counter or distribution):
            yield (metric.urn, f"a log-based metric of kind {kind}, value {value}",
                   "a DELTA INT64 counter, or a DELTA DISTRIBUTION with a valueExtractor")
    for policy in graph.of_type(ALERT_POLICY):
        for condition in policy.inputs.get("conditions") or []:
            found = _USER_METRIC.search(str((condition.get("conditionThreshold") or {}).get("filter", "")))
            if not found:
                continue
            metric = metrics.get(found.group(1))
            if metric is None:
                yield (policy.urn, f"alerts on logging.googleapis.com/user/{found.group(1)}, which no log-based "
                       "metric of the stack creates", "create the gcp.logging.Metric it names")
            elif metric.urn not in graph.upstream(policy):
                yield (policy.urn, f"is created without waiting for its log-based metric {found.group(1)}",
                       "build the filter from the metric's name output, or depend on it")


@rule("cloud-armor-rule-takes-ten-ranges",
      "Cloud Armor quotas and limits: a rule's basic match (SRC_IPS_V1) takes at most 10 IP address ranges, and "
      "a policy needs its default rule (priority 2147483647); https://cloud.google.com/armor/quotas#limits, "
      "https://cloud.google.com/armor/docs/security-policy-overview#default-rule")
def armor_rule_ranges(graph: Graph, _decisions):
    """A rule with more ranges is refused; a policy without a default rule gets Google's, which allows everyone."""
    for policy in graph.of_type("gcp:compute/regionSecurityPolicy:RegionSecurityPolicy",
                                "gcp:compute/securityPolicy:SecurityPolicy"):
        rules = policy.inputs.get("rules") or []
        for rule_ in rules:
            ranges = ((rule_.get("match") or {}).get("config") or {}).get("srcIpRanges") or []
            if len(ranges) > 10:
                yield (policy.urn, f"rule {rule_.get('priority')} matches {len(ranges)} ranges (at most 10)",
                       "split the ranges over several rules")
        if rules and not any(r.get("priority") == 2147483647 for r in rules):
            yield policy.urn, "no default rule: Cloud Armor adds one that allows every client", \
                "end with a deny rule at priority 2147483647"
