"""The GCP network layer's alarm on what it refuses: Cloud NGFW deny logs counted by a log-based metric, and a
Cloud Monitoring alert policy on any within a period (sovereign/domain/alerts.py FENCE_ALERT).

Every rule of the egress policy logs (egress_network: `enable_logging`), so a refused connection writes an entry
to the project's `compute.googleapis.com/firewall` log with `jsonPayload.disposition` DENIED and
`jsonPayload.rule_details.reference` `network:<network name>/firewallPolicy:<policy>`, on the `gce_subnetwork`
resource (https://cloud.google.com/firewall/docs/firewall-policy-log-format). Only this network's denials count.

A log-based counter is a DELTA INT64 metric, and an alert policy naming it is refused until it exists (reality
rule gcp-alert-policy-waits-for-its-log-metric); a metric created moments before can still take minutes to be
visible to Cloud Monitoring ("Cannot find metric(s)… up to 10 minutes"), which only a real `pulumi up` shows.
The policy has no notification channel: the stack names none (README, Observability, says how to add one).
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from sovereign.domain.alerts import FENCE_ALERT
from sovereign.domain.topology import ClusterPlan

LOG_RESOURCE = "gce_subnetwork"
USER_METRIC = "logging.googleapis.com/user/{name}"


def deny_filter(project: str, network_name: str) -> str:
    return (f'logName="projects/{project}/logs/compute.googleapis.com%2Ffirewall" '
            f'AND resource.type="{LOG_RESOURCE}" AND jsonPayload.disposition="DENIED" '
            f'AND jsonPayload.rule_details.reference:"network:{network_name}/firewallPolicy:"')


def fence_alert(name: str, plan: ClusterPlan, network_id: pulumi.Input[str],
                opts: pulumi.ResourceOptions) -> gcp.monitoring.AlertPolicy:
    project = plan.cloud.project
    network_name = pulumi.Output.from_input(network_id).apply(lambda link: link.rsplit("/", 1)[-1])
    denials = gcp.logging.Metric(
        f"{name}-{FENCE_ALERT.name}", name=f"{plan.name}-{FENCE_ALERT.name}",
        description="Connections the cluster network's egress firewall policy denied",
        filter=network_name.apply(lambda network: deny_filter(project, network)),
        metric_descriptor={"metric_kind": "DELTA", "value_type": "INT64", "unit": "1"},
        opts=opts)
    condition = {
        "display_name": "egress denied by Cloud NGFW",
        "condition_threshold": {
            "filter": denials.name.apply(
                lambda metric: f'metric.type="{USER_METRIC.format(name=metric)}" AND resource.type="{LOG_RESOURCE}"'),
            "comparison": "COMPARISON_GT", "threshold_value": FENCE_ALERT.threshold, "duration": "0s",
            "aggregations": [{"alignment_period": f"{FENCE_ALERT.period_s}s", "per_series_aligner": "ALIGN_SUM",
                              "cross_series_reducer": "REDUCE_SUM"}],
            "trigger": {"count": 1}}}
    return gcp.monitoring.AlertPolicy(
        f"{name}-{FENCE_ALERT.name}", display_name=f"{plan.name} {FENCE_ALERT.name}", combiner="OR",
        conditions=[condition], documentation={"content": FENCE_ALERT.summary, "mime_type": "text/markdown"},
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[denials])))
