"""The gateway's TLS certificate on AWS: an ACM certificate for the region's failover names, DNS-validated.

The validation records go into the zones the stack answers for (FailoverDns: the regional zone, and the global
zone for `api.<domain>`); the load balancer's TLS listener takes the certificate only once ACM has issued it
(reality rule elb-tls-listener-takes-an-issued-certificate), so the Service waits for the validation. ACM renews
it on its own while the validation records stay. Created before it is replaced (Pulumi's default): a certificate
a listener still uses cannot be deleted.
"""

from __future__ import annotations

from typing import Sequence

import pulumi
import pulumi_aws as aws

from sovereign.clouds import CloudProfile
from sovereign.domain.topology import ClusterPlan

from ..dns.failover import PublicGateway, TlsCertificate
from ..k8s.public_endpoint import gateway_load_balancer


def gateway_certificate(name: str, names: Sequence[str], opts: pulumi.ResourceOptions) -> TlsCertificate:
    """`opts` names the cluster region's provider: a load balancer takes certificates of its own region only."""
    certificate = aws.acm.Certificate(
        f"{name}-gateway", domain_name=names[0], subject_alternative_names=list(names[1:]) or None,
        validation_method="DNS", key_algorithm="EC_prime256v1",
        tags={"Name": f"gateway {names[0]}"}, opts=opts)
    issued = aws.acm.CertificateValidation(f"{name}-gateway", certificate_arn=certificate.arn, opts=opts)
    validation = certificate.domain_validation_options.apply(lambda options: [
        {"domain": o.domain_name, "name": o.resource_record_name, "type": o.resource_record_type,
         "value": o.resource_record_value} for o in options])
    return TlsCertificate(tuple(names), validation, issued.certificate_arn)


def aws_tls_endpoint(name: str, plan: ClusterPlan, profile: CloudProfile, names: Sequence[str],
                     provider: pulumi.ProviderResource, cluster: pulumi.Resource,
                     k8s_opts: pulumi.ResourceOptions, sources: pulumi.Input[list[str]] | None = None) -> PublicGateway:
    """The public NLB with a TLS listener on 443 and the region's certificate; `sources`: the only client ranges
    admitted (None: anyone)."""
    certificate = gateway_certificate(name, names, pulumi.ResourceOptions(parent=k8s_opts.parent, provider=provider))
    return gateway_load_balancer(name, profile, plan.cloud.region.name, certificate, k8s_opts, sources)
