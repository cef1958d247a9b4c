"""`sovereign:aws:FailoverDns`: the region's health-checked name over its clouds' gateways (Route 53).

`<region>.<domain>` lives in the region's own hosted zone (protected: delegations and client
configuration point at it). Each surviving cloud's gateway gets an HTTPS health check on its liveness
endpoint and a failover record (primary = first cloud in the stack, secondary = the other). With a
global zone configured, `api.<domain>` gets one geolocation record per client country the region
serves (and the default record if it is the default region), each pointing at the regional name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from sovereign.clouds import profile
from sovereign.domain.failover import HEALTH_PATH, FailoverPlan

HTTP = 80


@dataclass(frozen=True)
class FailoverDnsArgs:
    plan: FailoverPlan
    gateways: dict[str, pulumi.Input[str]]   # surviving cloud → its gateway's load-balancer name or address
    global_zone_id: str | None               # existing hosted zone of the domain, for the global name
    provider: pulumi.ProviderResource        # Route 53 is global; an aws provider for it


class FailoverDns(pulumi.ComponentResource):
    def __init__(self, name: str, args: FailoverDnsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("sovereign:aws:FailoverDns", name, None, opts)
        plan = args.plan
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.zone = aws.route53.Zone(
            f"{name}-zone", name=plan.regional_name, comment=f"Failover name of region {name}",
            force_destroy=False,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=True, retain_on_delete=True)))
        for rank, cloud in enumerate(plan.targets):
            # A load balancer answers with a name (CNAME) or an address (A), as the cloud's profile says.
            target, record_type = args.gateways[cloud], profile(cloud).lb_record_type
            # HTTP: TLS termination (ACM / Google-managed certificates) is not built yet; see README.
            check = aws.route53.HealthCheck(
                f"{name}-{cloud}", type="HTTP", port=HTTP, resource_path=HEALTH_PATH,
                request_interval=plan.interval_s, failure_threshold=plan.failure_threshold,
                fqdn=target if record_type == "CNAME" else None,
                ip_address=target if record_type == "A" else None,
                tags={"Name": f"{plan.regional_name} via {cloud}"}, opts=child)
            aws.route53.Record(
                f"{name}-{cloud}", zone_id=self.zone.zone_id, name=plan.regional_name, type=record_type,
                ttl=plan.ttl_s, records=[target], set_identifier=cloud, health_check_id=check.id,
                failover_routing_policies=[{"type": "PRIMARY" if rank == 0 else "SECONDARY"}], opts=child)
        if args.global_zone_id:
            for country in (*plan.serves, *(("*",) if plan.default else ())):
                aws.route53.Record(
                    f"{name}-global-{country.replace('*', 'default').lower()}", zone_id=args.global_zone_id,
                    name=plan.global_name, type="CNAME", ttl=plan.ttl_s, records=[plan.regional_name],
                    set_identifier=f"{name}-{country}", geolocation_routing_policies=[{"country": country}],
                    opts=child)
        self.name_servers = self.zone.name_servers
        self.register_outputs({"regionalName": plan.regional_name, "nameServers": self.name_servers})

