"""Offline answers for GCP resources and invokes: self links, ids and endpoints shaped like the real ones."""

from __future__ import annotations

import base64
import ipaddress
from typing import Any, Callable

import pulumi

from .mock_context import ProviderContext, short_hash

COMPUTE = "https://www.googleapis.com/compute/v1"
Args = pulumi.runtime.MockResourceArgs


def _name(args: Args) -> str:
    # Auto-named resources get their name from the engine, which the mocks do not run.
    return args.inputs.get("name") or args.name


def _project(args: Args, ctx: ProviderContext) -> str:
    return args.inputs.get("project") or ctx.project


def _region(args: Args, ctx: ProviderContext) -> str:
    return args.inputs.get("region") or args.inputs.get("location") or ctx.region


def _last(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _network(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    path = f"projects/{_project(args, ctx)}/global/networks/{_name(args)}"
    return {"id": path, "name": _name(args), "selfLink": f"{COMPUTE}/{path}",
            "numericId": str(int(short_hash("network", path, n=15), 16))}


def _subnetwork(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    path = f"projects/{_project(args, ctx)}/regions/{_region(args, ctx)}/subnetworks/{_name(args)}"
    gateway = ipaddress.ip_network(args.inputs["ipCidrRange"])[1]
    return {"id": path, "name": _name(args), "selfLink": f"{COMPUTE}/{path}", "gatewayAddress": str(gateway)}


def _router(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    path = f"projects/{_project(args, ctx)}/regions/{_region(args, ctx)}/routers/{_name(args)}"
    return {"id": path, "name": _name(args), "selfLink": f"{COMPUTE}/{path}"}


def _router_nat(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    router = _last(args.inputs["router"])
    return {"id": f"{_project(args, ctx)}/{_region(args, ctx)}/{router}/{_name(args)}", "name": _name(args)}


def _account(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    email = f"{args.inputs['accountId']}@{_project(args, ctx)}.iam.gserviceaccount.com"
    path = f"projects/{_project(args, ctx)}/serviceAccounts/{email}"
    return {"id": path, "name": path, "email": email, "member": f"serviceAccount:{email}",
            "uniqueId": str(10**20 + int(short_hash("sa", email, n=15), 16))}


def _iam_member(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    inputs = args.inputs
    return {"id": f"{inputs['project']}/{inputs['role']}/{inputs['member']}",
            "etag": "BwY" + short_hash("etag", inputs["role"], inputs["member"], n=9)}


def _cluster(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    project, location, name = _project(args, ctx), _region(args, ctx), _name(args)
    path = f"projects/{project}/locations/{location}/clusters/{name}"
    private = args.inputs.get("privateClusterConfig") or {}
    digest = bytes.fromhex(short_hash("endpoint", path, n=6))
    public_ip = f"34.{digest[0]}.{digest[1]}.{digest[2]}"
    private_ip = str(ipaddress.ip_network(private["masterIpv4CidrBlock"])[2]) \
        if private.get("masterIpv4CidrBlock") else None
    pem = f"-----BEGIN CERTIFICATE-----\nMIIE{short_hash('ca', path, n=40)}\n-----END CERTIFICATE-----\n"
    return {
        "id": path, "name": name, "selfLink": f"https://container.googleapis.com/v1/{path}",
        # With the private endpoint on, GKE reports the control plane's address in the master range.
        "endpoint": private_ip if private.get("enablePrivateEndpoint") else public_ip,
        "masterAuth": {"clusterCaCertificate": base64.b64encode(pem.encode()).decode(),
                       "clientCertificateConfig": {"issueClientCertificate": False}},
        "privateClusterConfig": {**private, "privateEndpoint": private_ip, "publicEndpoint": public_ip,
                                 "peeringName": f"gke-n{short_hash('peer', path, n=16)}-peer"},
        "masterVersion": "1.33.5-gke.1201000",
        "labelFingerprint": short_hash("labels", path),
    }


def _node_pool(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    project, location, name = _project(args, ctx), _region(args, ctx), _name(args)
    cluster = _last(args.inputs["cluster"])
    zones = args.inputs.get("nodeLocations") or ctx.zones("gcp")
    group = f"gke-{cluster[:14]}-{name[:14]}-{short_hash('pool', cluster, name)}-grp"
    managed = [f"{COMPUTE}/projects/{project}/zones/{z}/instanceGroupManagers/{group}" for z in zones]
    return {
        "id": f"projects/{project}/locations/{location}/clusters/{cluster}/nodePools/{name}",
        "name": name, "nodeCount": args.inputs.get("initialNodeCount", 0),
        "managedInstanceGroupUrls": managed,
        "instanceGroupUrls": [url.replace("instanceGroupManagers", "instanceGroups") for url in managed],
        "version": "1.33.5-gke.1201000",
    }


def _service(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    return {"id": f"{_project(args, ctx)}/{args.inputs['service']}"}


def _repository(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    """Artifact Registry names a repository by its full path."""
    path = (f"projects/{_project(args, ctx)}/locations/{args.inputs.get('location', ctx.region)}/repositories/"
            f"{args.inputs['repositoryId']}")
    return {"id": path, "name": path}


def _service_identity(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    """A service's agent in the project: its number is Google's, offline a stable 12-digit stand-in."""
    number = str(int(short_hash(_project(args, ctx), n=10), 16) % 10**12).zfill(12)
    agent = {"container.googleapis.com": "container-engine-robot"}.get(args.inputs["service"], "gcp-sa-service")
    email = f"service-{number}@{agent}.iam.gserviceaccount.com"
    return {"id": f"projects/{_project(args, ctx)}/services/{args.inputs['service']}", "email": email,
            "member": f"serviceAccount:{email}"}


def _key_ring(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    return {"id": f"projects/{_project(args, ctx)}/locations/{args.inputs['location']}/keyRings/{args.inputs['name']}"}


def _crypto_key(args: Args, _ctx: ProviderContext) -> dict[str, Any]:
    return {"id": f"{args.inputs['keyRing']}/cryptoKeys/{args.inputs['name']}"}


def _firewall_policy(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    path = f"projects/{_project(args, ctx)}/global/firewallPolicies/{_name(args)}"
    return {"id": path, "name": _name(args), "selfLink": f"{COMPUTE}/{path}",
            "firewallPolicyId": str(int(short_hash("firewall-policy", path, n=15), 16))}


def _firewall_policy_rule(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    policy, priority = _last(args.inputs["firewallPolicy"]), int(args.inputs["priority"])
    return {"id": f"projects/{_project(args, ctx)}/global/firewallPolicies/{policy}/rules/{priority}",
            "kind": "compute#firewallPolicyRule"}


def _firewall_policy_association(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    policy = _last(args.inputs["firewallPolicy"])
    return {"id": f"projects/{_project(args, ctx)}/global/firewallPolicies/{policy}/associations/{_name(args)}",
            "shortName": _name(args)}


def _response_policy(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    return {"id": f"projects/{_project(args, ctx)}/responsePolicies/{args.inputs['responsePolicyName']}"}


def _response_policy_rule(args: Args, ctx: ProviderContext) -> dict[str, Any]:
    policy, rule = args.inputs["responsePolicy"], args.inputs["ruleName"]
    return {"id": f"projects/{_project(args, ctx)}/responsePolicies/{policy}/rules/{rule}"}


OUTPUTS: dict[str, Callable[[Args, ProviderContext], dict[str, Any]]] = {
    "gcp:projects/service:Service": _service,
    "gcp:artifactregistry/repository:Repository": _repository,
    "gcp:kms/keyRing:KeyRing": _key_ring,
    # Certificate Manager asks for one CNAME per authorized name (PER_PROJECT_RECORD: named per project).
    "gcp:certificatemanager/dnsAuthorization:DnsAuthorization": lambda args, ctx: {
        "id": f"projects/{_project(args, ctx)}/locations/{args.inputs['location']}/dnsAuthorizations/{args.inputs['name']}",
        "dnsResourceRecords": [{
            "name": f"_acme-challenge_{short_hash(_project(args, ctx), n=8)}.{args.inputs['domain']}.",
            "type": "CNAME", "data": f"{short_hash(args.inputs['domain'], n=12)}.authorize.certificatemanager.goog."}]},
    "gcp:compute/address:Address": lambda args, ctx: {
        "id": f"projects/{_project(args, ctx)}/regions/{args.inputs['region']}/addresses/{args.inputs['name']}",
        "address": f"198.51.100.{int(short_hash(args.name, n=2), 16) % 254 + 1}"},
    "gcp:projects/iAMCustomRole:IAMCustomRole": lambda args, ctx: {
        "id": f"projects/{_project(args, ctx)}/roles/{args.inputs['roleId']}",
        "name": f"projects/{_project(args, ctx)}/roles/{args.inputs['roleId']}"},
    "gcp:projects/serviceIdentity:ServiceIdentity": _service_identity,
    "gcp:kms/cryptoKey:CryptoKey": _crypto_key,
    "gcp:compute/network:Network": _network,
    "gcp:compute/subnetwork:Subnetwork": _subnetwork,
    "gcp:compute/router:Router": _router,
    "gcp:compute/routerNat:RouterNat": _router_nat,
    "gcp:serviceaccount/account:Account": _account,
    "gcp:projects/iAMMember:IAMMember": _iam_member,
    "gcp:container/cluster:Cluster": _cluster,
    "gcp:container/nodePool:NodePool": _node_pool,
    "gcp:compute/networkFirewallPolicy:NetworkFirewallPolicy": _firewall_policy,
    "gcp:compute/networkFirewallPolicyRule:NetworkFirewallPolicyRule": _firewall_policy_rule,
    "gcp:compute/networkFirewallPolicyAssociation:NetworkFirewallPolicyAssociation": _firewall_policy_association,
    "gcp:dns/responsePolicy:ResponsePolicy": _response_policy,
    "gcp:dns/responsePolicyRule:ResponsePolicyRule": _response_policy_rule,
}

# The program invokes nothing on GCP: zones are the plan's (catalog) facts.
CALLS: dict[str, Callable[[dict[str, Any], ProviderContext], dict[str, Any]]] = {}
