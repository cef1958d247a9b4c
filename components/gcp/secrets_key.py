"""Application-layer secrets encryption for GKE: Kubernetes Secrets encrypted in etcd with a Cloud KMS key of the
stack's own, in the cluster's region (GKE docs, "Encrypt secrets at the application layer").

Cloud KMS deletes no key ring and no key, only key versions. So the ring carries a random suffix: the ring a
destroyed (or drilled) cluster leaves behind never collides with its successor's, and `pulumi destroy` only drops
it from state while the key's versions are scheduled for destruction (they guarded that cluster's etcd, gone with
it). GKE's service agent encrypts and decrypts with the key; the cluster is created once it may.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

ROTATION = "7776000s"   # a new key version every 90 days


def secrets_key(name: str, region: str, project: str, container_api: pulumi.Resource, opts: pulumi.ResourceOptions
                ) -> tuple[gcp.kms.CryptoKey, gcp.kms.CryptoKeyIAMMember]:
    """`container_api`: GKE's API, whose enabling creates the service agent the key is granted to."""
    provider = random.Provider(f"{name}-random", opts=pulumi.ResourceOptions(parent=opts.parent))
    suffix = random.RandomId(f"{name}-secrets-ring", byte_length=3,
                             opts=pulumi.ResourceOptions(parent=opts.parent, provider=provider))
    ring = gcp.kms.KeyRing(f"{name}-secrets", project=project, location=region,
                           name=pulumi.Output.concat(f"{name}-secrets-", suffix.hex), opts=opts)
    key = gcp.kms.CryptoKey(f"{name}-secrets", key_ring=ring.id, name="kubernetes-secrets", purpose="ENCRYPT_DECRYPT",
                            rotation_period=ROTATION, opts=opts)
    # GKE's service agent (service-<number>@container-engine-robot), made to exist now rather than whenever GKE
    # first acts: on a fresh project a grant naming it before then is refused.
    agent = gcp.projects.ServiceIdentity(f"{name}-gke-agent", project=project, service="container.googleapis.com",
                                         opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                                             depends_on=[container_api])))
    use = gcp.kms.CryptoKeyIAMMember(
        f"{name}-secrets-gke", crypto_key_id=key.id, role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
        member=agent.member, opts=opts)
    return key, use
