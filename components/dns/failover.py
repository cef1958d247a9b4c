"""`sovereign:aws:FailoverDns`: the region's health-checked name over its clouds' gateways (Route 53).

`<region>.<domain>` lives in the region's own hosted zone (protected: delegations and client
configuration point at it). Each surviving cloud's gateway gets an HTTPS health check on its liveness
endpoint and a failover record (primary = first cloud in the stack, secondary = the other). In the domain's
zone (`dr.globalZoneId`, required): the delegation of the regional zone, and for `api.<domain>` one geolocation
record per client country the region serves (and the default record if it is the default region), each
pointing at the regional name; in either zone, the records proving control of the names for the gateways'
certificates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from sovereign.clouds import CloudProfile
from sovereign.domain.failover import HEALTH_PATH, HTTPS_PORT, FailoverPlan

DELEGATION_TTL_S = 172800  # Route 53's own NS TTL for a hosted zone (two days)
VALIDATION_TTL_S = 300


@dataclass(frozen=True)
class TlsCertificate:
    """A gateway's certificate: what its DNS validation asks for, and its ARN once issued."""
    names: tuple[str, ...]
    validation: pulumi.Output[list]        # per name: {domain, name, type, value} of the record proving control
    issued_arn: pulumi.Output[str]         # what the load balancer names the certificate by, once usable


@dataclass(frozen=True)
class PublicGateway:
    """A cluster's public gateway endpoint: its load balancer's name or address, where it is, and its TLS
    certificate."""
    target: pulumi.Input[str]
    region: str
    profile: CloudProfile
    certificate: TlsCertificate


@dataclass(frozen=True)
class FailoverDnsArgs:
    plan: FailoverPlan
    gateways: dict[str, PublicGateway]       # surviving cloud → its public gateway
    global_zone_id: str                      # existing hosted zone of the domain: delegation, global name
    provider: pulumi.ProviderResource        # Route 53 is global; an aws provider for it


class FailoverDns(pulumi.ComponentResource):
    def __init__(self, name: str, args: FailoverDnsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:aws:FailoverDns", name, None, opts)
        plan = args.plan
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.zone_name = plan.regional_name
        self.zone = aws.route53.Zone(
            f"{name}-zone", name=plan.regional_name, comment=f"Failover name of region {name}",
            force_destroy=False,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=True, retain_on_delete=True)))
        for rank, cloud in enumerate(plan.targets):
            gateway = args.gateways[cloud]
            alias = gateway.profile.lb_alias_type
            # The load balancer's one port, HTTPS with SNI (Route 53 does not validate the certificate); it answers
            # only while a gateway pod is ready, i.e. while a model server serves.
            check = aws.route53.HealthCheck(
                f"{name}-{cloud}", type="HTTPS", port=HTTPS_PORT, resource_path=HEALTH_PATH, enable_sni=True,
                request_interval=plan.interval_s, failure_threshold=plan.failure_threshold,
                # An address is checked with the regional name as SNI and Host.
                fqdn=gateway.target if alias else plan.regional_name,
                ip_address=None if alias else gateway.target,
                tags={"Name": f"{plan.regional_name} via {cloud}"}, opts=child)
            # One record type for the pair, none a CNAME at the zone's apex (Route 53 refuses both): an alias
            # A record to a load balancer's name, a plain A record to an address.
            target = dict(aliases=[aws.route53.RecordAliasArgs(
                name=gateway.target, evaluate_target_health=True,
                zone_id=aws.lb.get_hosted_zone_id_output(load_balancer_type=alias, region=gateway.region,
                                                         opts=pulumi.InvokeOptions(provider=args.provider)).id)]) \
                if alias else dict(ttl=plan.ttl_s, records=[gateway.target])
            aws.route53.Record(
                f"{name}-{cloud}", zone_id=self.zone.zone_id, name=plan.regional_name, type="A",
                set_identifier=cloud, health_check_id=check.id,
                failover_routing_policies=[{"type": "PRIMARY" if rank == 0 else "SECONDARY"}], **target,
                opts=child)
            self._validation(name, cloud, gateway.certificate, args.global_zone_id, child)
        # The regional zone answers only once the domain's zone delegates its name to it.
        aws.route53.Record(
            f"{name}-delegation", zone_id=args.global_zone_id, name=plan.regional_name, type="NS",
            ttl=DELEGATION_TTL_S, records=self.zone.name_servers, opts=child)
        for country in (*plan.serves, *(("*",) if plan.default else ())):
            aws.route53.Record(
                f"{name}-global-{country.replace('*', 'default').lower()}", zone_id=args.global_zone_id,
                name=plan.global_name, type="CNAME", ttl=plan.ttl_s, records=[plan.regional_name],
                set_identifier=f"{name}-{country}", geolocation_routing_policies=[{"country": country}],
                opts=child)
        self.name_servers = self.zone.name_servers
        self.register_outputs({"regionalName": plan.regional_name, "nameServers": self.name_servers})


    def _validation(self, name: str, cloud: str, certificate: TlsCertificate, global_zone_id: str,
                    opts: pulumi.ResourceOptions) -> None:
        """The record proving control of each name (ACM's validation, Certificate Manager's authorization), in the zone
        that answers for it. ACM's record for the global name is the same for every region of the account (derived
        from the name), so each region may write it."""
        for i, tls_name in enumerate(certificate.names):
            option = certificate.validation.apply(lambda options, n=tls_name: next(
                o for o in options if o["domain"] == n))
            regional = tls_name == self.zone_name
            aws.route53.Record(
                f"{name}-{cloud}-tls-{i}", zone_id=self.zone.zone_id if regional else global_zone_id,
                name=option.apply(lambda o: o["name"]), type=option.apply(lambda o: o["type"]), ttl=VALIDATION_TTL_S,
                records=[option.apply(lambda o: o["value"])], allow_overwrite=not regional,
                opts=opts)
