"""Offline answers for AWS resources and invokes: ids, ARNs and endpoints shaped like the real ones."""

from __future__ import annotations

import base64
from typing import Any, Callable

import pulumi

from .mock_context import ProviderContext, short_hash

Args = pulumi.runtime.MockResourceArgs
_MOCK_CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIMOCKEKSCLUSTERCA\n-----END CERTIFICATE-----\n").decode()


def _ec2_id(prefix: str, args: Args) -> str:
    return f"{prefix}-0{short_hash(args.typ, args.name, n=16)}"


def _uuid(*parts: str) -> str:
    h = short_hash(*parts, n=32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _ec2(prefix: str, kind: str) -> Callable[[Args, ProviderContext], dict[str, Any]]:
    def outputs(args: Args, ctx: ProviderContext) -> dict[str, Any]:
        resource_id = _ec2_id(prefix, args)
        return {"id": resource_id, "arn": ctx.arn("ec2", f"{kind}/{resource_id}"), "ownerId": ctx.account}
    return outputs


def _launch_template(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    """EC2 numbers a new template's first version 1 (default and latest)."""
    template_id = _ec2_id("lt", args)
    return {"id": template_id, "arn": ctx.arn("ec2", f"launch-template/{template_id}"), "latestVersion": 1,
            "defaultVersion": 1}


def _vpc(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    vpc_id = _ec2_id("vpc", args)
    return {"id": vpc_id, "arn": ctx.arn("ec2", f"vpc/{vpc_id}"), "ownerId": ctx.account,
            "mainRouteTableId": f"rtb-0{short_hash('main', args.name, n=16)}",
            "defaultRouteTableId": f"rtb-0{short_hash('main', args.name, n=16)}",
            "defaultSecurityGroupId": f"sg-0{short_hash('default', args.name, n=16)}",
            "defaultNetworkAclId": f"acl-0{short_hash('default', args.name, n=16)}"}


def _subnet(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    subnet_id = _ec2_id("subnet", args)
    zone = args.inputs.get("availabilityZone", "")
    zones = ctx.zones("aws")
    zone_id = f"{ctx.region}-az{zones.index(zone) + 1}" if zone in zones else ""
    return {"id": subnet_id, "arn": ctx.arn("ec2", f"subnet/{subnet_id}"), "ownerId": ctx.account,
            "availabilityZoneId": zone_id}


def _documentation_ip(args: Args) -> str:
    return f"203.0.113.{int(short_hash(args.name, n=4), 16) % 254 + 1}"  # RFC 5737 TEST-NET-3


def _eip(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    allocation = _ec2_id("eipalloc", args)
    return {"id": allocation, "allocationId": allocation, "publicIp": _documentation_ip(args),
            "arn": ctx.arn("ec2", f"elastic-ip/{allocation}")}


def _nat(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    return {"id": _ec2_id("nat", args), "networkInterfaceId": _ec2_id("eni", args),
            "publicIp": _documentation_ip(args), "connectivityType": "public"}


def _route(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    # The provider's id is "r-<route table id><hash of the destination>".
    destination = args.inputs.get("destinationCidrBlock", "")
    return {"id": f"r-{args.inputs.get('routeTableId', '')}{int(short_hash(destination, n=8), 16)}"}


def _iam_role(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    name = args.inputs.get("name") or f"{args.name}-{short_hash(args.name, n=7)}"  # Pulumi's autoname
    return {"id": name, "name": name, "arn": ctx.arn("iam", f"role/{name}", regional=False),
            "uniqueId": f"AROA{short_hash(args.name, n=17).upper()}"}


def _role_policy_attachment(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    return {"id": f"{args.inputs.get('role', '')}-{short_hash(args.name, n=26)}"}


def _role_policy(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    name = args.inputs.get("name") or f"{args.name}-{short_hash(args.name, n=7)}"
    return {"id": f"{args.inputs.get('role', '')}:{name}", "name": name}


def _instance_profile(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    name = args.inputs.get("name") or f"{args.name}-{short_hash(args.name, n=7)}"
    return {"id": name, "name": name, "arn": ctx.arn("iam", f"instance-profile/{name}", regional=False),
            "uniqueId": f"AIPA{short_hash(args.name, n=17).upper()}"}


def _sqs_queue(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    """SQS answers with the queue's URL as its id."""
    name = args.inputs.get("name") or f"{args.name}-{short_hash(args.name, n=7)}"
    url = f"https://sqs.{ctx.region}.{ctx.dns_suffix}/{ctx.account}/{name}"
    return {"id": url, "url": url, "name": name, "arn": ctx.arn("sqs", name)}


def _event_rule(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    name = args.inputs.get("name") or f"{args.name}-{short_hash(args.name, n=7)}"
    return {"id": name, "name": name, "arn": ctx.arn("events", f"rule/{name}")}


def _kms_key(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    key_id = _uuid(args.typ, args.name)
    return {"id": key_id, "keyId": key_id, "arn": ctx.arn("kms", f"key/{key_id}")}


def _log_group(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    name = args.inputs.get("name", args.name)
    return {"id": name, "arn": ctx.arn("logs", f"log-group:{name}")}


def _eks_cluster(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    name = args.inputs.get("name", args.name)
    oidc_id = short_hash("eks", ctx.region, name, n=32).upper()
    suffix = ctx.catalog.region("aws", ctx.region).dns_suffix
    return {
        "id": name, "name": name, "arn": ctx.arn("eks", f"cluster/{name}"), "clusterId": _uuid("eks", name),
        "endpoint": f"https://{oidc_id}.gr7.{ctx.region}.eks.{suffix}",
        "certificateAuthority": {"data": _MOCK_CA},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{ctx.region}.{suffix}/id/{oidc_id}"}]}],
        "platformVersion": "eks.1", "status": "ACTIVE",
        "vpcConfig": {**args.inputs.get("vpcConfig", {}),
                      "clusterSecurityGroupId": f"sg-0{short_hash('eks-cluster-sg', name, n=16)}"},
    }


def _oidc_provider(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    host = str(args.inputs.get("url", "")).removeprefix("https://")
    arn = ctx.arn("iam", f"oidc-provider/{host}", regional=False)
    return {"id": arn, "arn": arn}


def _access_entry(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    cluster, principal = args.inputs.get("clusterName", ""), args.inputs.get("principalArn", "")
    role = principal.rsplit("/", 1)[-1]
    return {"id": f"{cluster}:{principal}", "type": args.inputs.get("type", "STANDARD"),
            "accessEntryArn": ctx.arn("eks", f"access-entry/{cluster}/role/{ctx.account}/{role}/"
                                             f"{_uuid('access-entry', cluster, principal)}")}


def _access_policy_association(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    i = args.inputs
    return {"id": f"{i.get('clusterName', '')}#{i.get('principalArn', '')}#{i.get('policyArn', '')}"}


def _node_group(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    cluster, group = args.inputs.get("clusterName", ""), args.inputs.get("nodeGroupName", args.name)
    uuid = _uuid("nodegroup", cluster, group)
    return {"id": f"{cluster}:{group}", "arn": ctx.arn("eks", f"nodegroup/{cluster}/{group}/{uuid}"),
            "status": "ACTIVE", "resources": [{"autoscalingGroups": [{"name": f"eks-{group}-{uuid}"}]}]}


def _addon(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    cluster, addon = args.inputs.get("clusterName", ""), args.inputs.get("addonName", "")
    return {"id": f"{cluster}:{addon}",
            "arn": ctx.arn("eks", f"addon/{cluster}/{addon}/{_uuid('addon', cluster, addon)}")}


def _resolver(prefix: str, arn_kind: str | None, owned: bool) -> Callable[[Args, ProviderContext], dict[str, Any]]:
    """DNS Firewall objects: ids like rslvr-fdl-2c46f2ecbfec4dcc; an ARN and owner where AWS returns them."""
    def outputs(args: Args, ctx: ProviderContext) -> dict[str, Any]:
        resource_id = f"rslvr-{prefix}-{short_hash(args.typ, args.name, n=16)}"
        arn = {"arn": ctx.arn("route53resolver", f"{arn_kind}/{resource_id}")} if arn_kind else {}
        return {"id": resource_id, **arn, **({"ownerId": ctx.account} if owned else {})}
    return outputs


def _firewall_rule(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    # The provider's id is "<rule group id>:<domain list id>".
    return {"id": f"{args.inputs.get('firewallRuleGroupId', '')}:{args.inputs.get('firewallDomainListId', '')}"}


def _hosted_zone(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    """A public hosted zone: an id like Z0123456789ABCDEFGHIJ and its four delegation name servers."""
    zone_id = f"Z{short_hash(args.typ, args.name, n=20).upper()}"
    n = int(short_hash(zone_id, n=4), 16)
    servers = [f"ns-{n % 2048}.awsdns-{n % 64:02d}.org", f"ns-{(n >> 1) % 2048}.awsdns-{(n >> 1) % 64:02d}.co.uk",
               f"ns-{(n >> 2) % 512}.awsdns-{(n >> 2) % 64:02d}.com", f"ns-{(n >> 3) % 1024}.awsdns-{(n >> 3) % 64:02d}.net"]
    return {"id": zone_id, "zoneId": zone_id, "arn": f"arn:{ctx.partition}:route53:::hostedzone/{zone_id}",
            "nameServers": servers, "primaryNameServer": servers[0]}


def _certificate(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    """ACM's DNS validation: one CNAME per name, derived from it (the same name in every region of an account)."""
    names = [args.inputs["domainName"], *(args.inputs.get("subjectAlternativeNames") or [])]
    arn = ctx.arn("acm", f"certificate/{_uuid('acm', args.name)}")
    return {"id": arn, "arn": arn, "status": "PENDING_VALIDATION", "domainValidationOptions": [
        {"domainName": n, "resourceRecordName": f"_{short_hash(n, n=32)}.{n}.", "resourceRecordType": "CNAME",
         "resourceRecordValue": f"_{short_hash('value', n, n=32)}.acm-validations.aws."} for n in names]}


OUTPUTS: dict[str, Callable[[Args, ProviderContext], dict[str, Any]]] = {
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": _ec2("sg", "security-group"),
    "aws:ec2/internetGateway:InternetGateway": _ec2("igw", "internet-gateway"),
    "aws:ec2/subnet:Subnet": _subnet,
    "aws:ec2/eip:Eip": _eip,
    "aws:ec2/natGateway:NatGateway": _nat,
    "aws:ec2/routeTable:RouteTable": _ec2("rtb", "route-table"),
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
    "aws:ec2/route:Route": _route,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": lambda args, ctx: {"id": _ec2_id("rtbassoc", args)},
    "aws:iam/role:Role": _iam_role,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _role_policy_attachment,
    "aws:iam/rolePolicy:RolePolicy": _role_policy,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "aws:kms/key:Key": _kms_key,
    "aws:iam/instanceProfile:InstanceProfile": _instance_profile,
    "aws:sqs/queue:Queue": _sqs_queue,
    "aws:cloudwatch/eventRule:EventRule": _event_rule,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:eks/accessEntry:AccessEntry": _access_entry,
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": _access_policy_association,
    "aws:eks/nodeGroup:NodeGroup": _node_group,
    "aws:eks/addon:Addon": _addon,
    "aws:route53/zone:Zone": _hosted_zone,
    "aws:acm/certificate:Certificate": _certificate,
    # ECR names a rule by its prefix and answers with the registry (account) it caches into.
    "aws:ecr/repository:Repository": lambda args, ctx: {
        "id": args.inputs["name"], "registryId": ctx.account, "arn": ctx.arn("ecr", f"repository/{args.inputs['name']}"),
        "repositoryUrl": f"{ctx.account}.dkr.ecr.{ctx.region}.{ctx.dns_suffix}/{args.inputs['name']}"},
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": lambda args, ctx: {
        "id": args.inputs.get("ecrRepositoryPrefix", args.name), "registryId": ctx.account},
    "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList":
        _resolver("fdl", "firewall-domain-list", False),
    "aws:route53/resolverFirewallRuleGroup:ResolverFirewallRuleGroup": _resolver("frg", "firewall-rule-group", True),
    "aws:route53/resolverFirewallRule:ResolverFirewallRule": _firewall_rule,
    "aws:route53/resolverFirewallRuleGroupAssociation:ResolverFirewallRuleGroupAssociation":
        _resolver("frgassoc", "firewall-rule-group-association", False),
    "aws:route53/resolverFirewallConfig:ResolverFirewallConfig": _resolver("fc", None, True),
}


def _instance_type_offerings(args: dict[str, Any], ctx: ProviderContext) -> dict[str, Any]:
    """Offline, every instance type is offered in every catalog zone of the region (filters still apply)."""
    filters = {f["name"]: f["values"] for f in args.get("filters", [])}
    types = filters.get("instance-type", [])
    zones = [z for z in ctx.zones("aws") if z in filters.get("location", ctx.zones("aws"))]
    offers = [(t, z) for t in types for z in zones]
    return {"instanceTypes": [t for t, _ in offers], "locations": [z for _, z in offers],
            "locationTypes": ["availability-zone"] * len(offers), "id": ctx.region}


CALLS: dict[str, Callable[[dict[str, Any], ProviderContext], dict[str, Any]]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda args, ctx: {
        "names": ctx.zones("aws"),
        "zoneIds": [f"{ctx.region}-az{i + 1}" for i in range(len(ctx.zones("aws")))],
        "id": ctx.region, "state": args.get("state"),
    },
    "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": _instance_type_offerings,
    "aws:index/getCallerIdentity:getCallerIdentity": lambda args, ctx: {
        "accountId": ctx.account, "arn": f"arn:{ctx.partition}:iam::{ctx.account}:user/sovereign-offline",
        "userId": "AIDAOFFLINEMOCKUSER", "id": ctx.account},
    # The provider answers from a built-in table of ELB canonical hosted zones; offline, a stable stand-in.
    "aws:lb/getHostedZoneId:getHostedZoneId": lambda args, ctx: {
        "id": "Z" + short_hash(args.get("region") or ctx.region, args.get("loadBalancerType") or "application",
                               n=13).upper(),
        "loadBalancerType": args.get("loadBalancerType"), "region": args.get("region") or ctx.region},
    # The provider reads AWS's published ip-ranges.json; offline, 25 stand-in /26 blocks of 198.18.0.0/15 (RFC 2544's
    # test range), as many IPv4 ranges as ROUTE53_HEALTHCHECKS lists (about 25 in 2026), so limits that count them
    # (Cloud Armor's ten per rule, a security group's rules) are exercised as on AWS.
    "aws:index/getIpRanges:getIpRanges": lambda args, ctx: {
        "cidrBlocks": [f"198.18.{i}.0/26" for i in range(25)], "ipv6CidrBlocks": [], "id": "offline",
        "services": args.get("services", []), "createDate": "2026-01-01-00-00-00", "syncToken": 1},
    "aws:eks/getAddonVersion:getAddonVersion": lambda args, ctx: {
        "addonName": args["addonName"], "kubernetesVersion": args["kubernetesVersion"],
        "mostRecent": args.get("mostRecent", False), "version": "v1.0.0-eksbuild.1", "id": args["addonName"],
    },
}
