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

from ..dns.failover import TlsCertificate


def gateway_certificate(name: str, names: Sequence[str], opts: pulumi.ResourceOptions) -> TlsCertificate:
    """`opts` names the cluster region's provider: a load balancer takes certificates of its own region only."""
    certificate = aws.acm.Certificate(
        f"{name}-gateway", domain_name=names[0], subject_alternative_names=list(names[1:]) or None,
        validation_method="DNS", key_algorithm="EC_prime256v1",
        tags={"Name": f"gateway {names[0]}"}, opts=opts)
    issued = aws.acm.CertificateValidation(f"{name}-gateway", certificate_arn=certificate.arn, opts=opts)
    return TlsCertificate(tuple(names), certificate.domain_validation_options, issued.certificate_arn)
