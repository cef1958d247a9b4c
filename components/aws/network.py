"""The cluster's VPC: per zone a public subnet (load balancers, NAT), a private one (nodes) and a NAT gateway; an S3
gateway endpoint on the private route tables, so every S3 request of the region leaves through it (and its policy,
which the egress fence sets), whatever address a client connects to."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from sovereign.domain.topology import Network

ANYWHERE = "0.0.0.0/0"


@dataclass(frozen=True)
class ClusterNetwork:
    vpc: aws.ec2.Vpc
    private_subnets: dict[str, aws.ec2.Subnet]  # zone → subnet (control-plane ENIs, nodes)
    s3_endpoint: aws.ec2.VpcEndpoint
    # The private subnets' way out (NAT routes and their associations): what a controller deleting cloud resources
    # on a teardown (Karpenter terminating its nodes) must outlive.
    egress: list[pulumi.Resource]


def cluster_network(name: str, network: Network, region: str, zones: list[str], cluster_name: str,
                    opts: pulumi.ResourceOptions) -> ClusterNetwork:
    """`zones[i]` gets `network.public_subnets[i]` and `network.private_subnets[i]`."""
    vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=network.cidr, enable_dns_support=True,
                      enable_dns_hostnames=True, tags={"Name": name}, opts=opts)
    # Adopting the default security group with no rules closes it (nothing here uses it).
    aws.ec2.DefaultSecurityGroup(f"{name}-default", vpc_id=vpc.id, tags={"Name": f"{name}-default"}, opts=opts)
    igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": name}, opts=opts)
    after_igw = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[igw]))
    public_rt = aws.ec2.RouteTable(f"{name}-public", vpc_id=vpc.id, tags={"Name": f"{name}-public"}, opts=opts)
    aws.ec2.Route(f"{name}-public-default", route_table_id=public_rt.id, destination_cidr_block=ANYWHERE,
                  gateway_id=igw.id, opts=opts)
    shared = {f"kubernetes.io/cluster/{cluster_name}": "shared"}
    private: dict[str, aws.ec2.Subnet] = {}
    private_tables: list[aws.ec2.RouteTable] = []
    egress: list[pulumi.Resource] = []
    for zone, public_cidr, private_cidr in zip(zones, network.public_subnets, network.private_subnets, strict=True):
        public = aws.ec2.Subnet(
            f"{name}-public-{zone}", vpc_id=vpc.id, cidr_block=public_cidr, availability_zone=zone,
            tags={"Name": f"{name}-public-{zone}", "kubernetes.io/role/elb": "1", **shared}, opts=opts)
        aws.ec2.RouteTableAssociation(f"{name}-public-{zone}", subnet_id=public.id,
                                      route_table_id=public_rt.id, opts=opts)
        # One NAT per zone: losing a zone must not cut the other zones' egress.
        eip = aws.ec2.Eip(f"{name}-nat-{zone}", domain="vpc", tags={"Name": f"{name}-nat-{zone}"}, opts=after_igw)
        nat = aws.ec2.NatGateway(f"{name}-nat-{zone}", allocation_id=eip.id, subnet_id=public.id,
                                 tags={"Name": f"{name}-nat-{zone}"}, opts=after_igw)
        private[zone] = aws.ec2.Subnet(
            f"{name}-private-{zone}", vpc_id=vpc.id, cidr_block=private_cidr, availability_zone=zone,
            tags={"Name": f"{name}-private-{zone}", "kubernetes.io/role/internal-elb": "1", **shared}, opts=opts)
        private_rt = aws.ec2.RouteTable(f"{name}-private-{zone}", vpc_id=vpc.id,
                                        tags={"Name": f"{name}-private-{zone}"}, opts=opts)
        egress += [aws.ec2.Route(f"{name}-private-{zone}-default", route_table_id=private_rt.id,
                                 destination_cidr_block=ANYWHERE, nat_gateway_id=nat.id, opts=opts),
                   aws.ec2.RouteTableAssociation(f"{name}-private-{zone}", subnet_id=private[zone].id,
                                                 route_table_id=private_rt.id, opts=opts)]
        private_tables.append(private_rt)
    # S3's gateway service name is com.amazonaws.<region>.s3 in every partition, China's included.
    s3 = aws.ec2.VpcEndpoint(f"{name}-s3", vpc_id=vpc.id, service_name=f"com.amazonaws.{region}.s3",
                             vpc_endpoint_type="Gateway", route_table_ids=[t.id for t in private_tables],
                             tags={"Name": f"{name}-s3"}, opts=opts)
    return ClusterNetwork(vpc, private, s3, egress)
