"""The AWS network layer's audit trail: every flow of the cluster's VPC and every DNS query its resolver answers.

VPC Flow Logs (all traffic, 1-minute aggregation) into a CloudWatch Logs group written through a role that
only the flow-logs service may assume; Route 53 Resolver query logging of the VPC into another group, DNS
Firewall verdicts included. Both groups keep the stack's retention and go with the stack.

The fence's alarm (sovereign/domain/alerts.py FENCE_ALERT): a metric filter counts the query log's DNS Firewall
BLOCK answers (`firewall_rule_action`, a field of every query the firewall matched:
https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resolver-query-logs-format.html) and a CloudWatch
alarm fires on any within a period. It has no action: the stack names no notification target (README,
Observability, says how to add one).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from sovereign.domain.alerts import FENCE_ALERT

FLOW_LOG_INTERVAL_S = 60
# CloudWatch Logs filter pattern syntax for JSON log events:
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html#metric-filters-extract-json
DNS_FIREWALL_BLOCKS = '{ $.firewall_rule_action = "BLOCK" }'
METRIC_NAMESPACE = "Sovereign/EgressFence"


def vpc_evidence(name: str, vpc_id: pulumi.Input[str], retention_days: int, opts: pulumi.ResourceOptions) -> None:
    flows = aws.cloudwatch.LogGroup(f"{name}-flow-logs", name=f"/sovereign/{name}/vpc-flow-logs",
                                    retention_in_days=retention_days, opts=opts)
    role = aws.iam.Role(f"{name}-flow-logs", assume_role_policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}}]}), opts=opts)
    aws.iam.RolePolicy(f"{name}-flow-logs", role=role.id, policy=flows.arn.apply(lambda arn: json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Resource": [arn, f"{arn}:*"],
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups",
                       "logs:DescribeLogStreams"]}]})), opts=opts)
    aws.ec2.FlowLog(f"{name}-flow-logs", vpc_id=vpc_id, traffic_type="ALL", log_destination_type="cloud-watch-logs",
                    log_destination=flows.arn, iam_role_arn=role.arn,
                    max_aggregation_interval=FLOW_LOG_INTERVAL_S, opts=opts)
    queries = aws.cloudwatch.LogGroup(f"{name}-dns-queries", name=f"/sovereign/{name}/resolver-queries",
                                      retention_in_days=retention_days, opts=opts)
    config = aws.route53.ResolverQueryLogConfig(f"{name}-dns-queries", name=f"{name}-dns-queries",
                                                destination_arn=queries.arn, opts=opts)
    aws.route53.ResolverQueryLogConfigAssociation(f"{name}-dns-queries", resolver_query_log_config_id=config.id,
                                                  resource_id=vpc_id, opts=opts)
    fence_alarm(name, queries, opts)


def fence_alarm(name: str, queries: aws.cloudwatch.LogGroup, opts: pulumi.ResourceOptions) -> aws.cloudwatch.MetricAlarm:
    """DNS Firewall BLOCK answers counted from the query log (a 0 every minute without one, so the alarm reads OK,
    not missing data), and an alarm on any within FENCE_ALERT's period."""
    metric = f"{name}-{FENCE_ALERT.name}"
    blocks = aws.cloudwatch.LogMetricFilter(
        f"{name}-dns-firewall-blocks", name=f"{name}-dns-firewall-blocks",
        log_group_name=queries.name,  # the group exists first (PutMetricFilter needs it)
        pattern=DNS_FIREWALL_BLOCKS,
        metric_transformation={"name": metric, "namespace": METRIC_NAMESPACE, "value": "1", "default_value": "0"},
        opts=opts)
    return aws.cloudwatch.MetricAlarm(
        f"{name}-{FENCE_ALERT.name}", name=metric, alarm_description=FENCE_ALERT.summary,
        namespace=METRIC_NAMESPACE, metric_name=metric, statistic="Sum", period=FENCE_ALERT.period_s,
        evaluation_periods=1, datapoints_to_alarm=1, comparison_operator="GreaterThanThreshold",
        threshold=FENCE_ALERT.threshold, treat_missing_data="notBreaching",
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[blocks])))
