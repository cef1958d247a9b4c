"""The AWS network layer's audit trail: every flow of the cluster's VPC and every DNS query its resolver answers.

VPC Flow Logs (all traffic, 1-minute aggregation) into a CloudWatch Logs group written through a role that
only the flow-logs service may assume; Route 53 Resolver query logging of the VPC into another group, DNS
Firewall verdicts included. Both groups keep the stack's retention and go with the stack.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

FLOW_LOG_INTERVAL_S = 60


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
