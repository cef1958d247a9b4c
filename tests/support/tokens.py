"""The Pulumi type tokens the tests look for, in one place.

A `StrEnum`: members compare equal to the token strings the engine records (`resource.type == T.EKS_CLUSTER`)
and serialize as them. `@unique` keeps two names from standing for one token.
"""

from __future__ import annotations

from enum import StrEnum, unique


@unique
class T(StrEnum):
    # The program's components
    STACK = "pulumi:pulumi:Stack"
    REGION = "sovereign:index:Region"
    AWS_GPU_CLUSTER = "sovereign:aws:GpuCluster"
    AWS_EGRESS_FENCE = "sovereign:aws:EgressFence"
    AWS_WEIGHT_CACHE = "sovereign:aws:WeightCache"
    AWS_IMAGE_STORE = "sovereign:aws:ImageStore"
    GCP_GPU_CLUSTER = "sovereign:gcp:GpuCluster"
    GCP_EGRESS_FENCE = "sovereign:gcp:EgressFence"
    GCP_WEIGHT_CACHE = "sovereign:gcp:WeightCache"
    GATEWAY = "sovereign:k8s:InferenceGateway"
    SERVING_ALERTS = "sovereign:k8s:ServingAlerts"
    ELASTIC_PLATFORM = "sovereign:k8s:ElasticPlatform"

    # Providers
    AWS_PROVIDER = "pulumi:providers:aws"
    GCP_PROVIDER = "pulumi:providers:gcp"
    K8S_PROVIDER = "pulumi:providers:kubernetes"

    # AWS
    VPC = "aws:ec2/vpc:Vpc"
    SUBNET = "aws:ec2/subnet:Subnet"
    NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
    INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
    ROUTE = "aws:ec2/route:Route"
    ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
    ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
    EKS_CLUSTER = "aws:eks/cluster:Cluster"
    EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
    EKS_ADDON = "aws:eks/addon:Addon"
    EKS_ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
    EKS_ACCESS_POLICY = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
    IAM_ROLE = "aws:iam/role:Role"
    IAM_ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    IAM_OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
    KMS_KEY = "aws:kms/key:Key"
    S3_BUCKET = "aws:s3/bucket:Bucket"
    S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
    S3_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    S3_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
    S3_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
    ROUTE53_ZONE = "aws:route53/zone:Zone"
    ROUTE53_RECORD = "aws:route53/record:Record"
    ROUTE53_HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
    DNS_FIREWALL_DOMAIN_LIST = "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList"
    DNS_FIREWALL_RULE = "aws:route53/resolverFirewallRule:ResolverFirewallRule"
    DNS_FIREWALL_RULE_GROUP = "aws:route53/resolverFirewallRuleGroup:ResolverFirewallRuleGroup"
    DNS_FIREWALL_ASSOCIATION = \
        "aws:route53/resolverFirewallRuleGroupAssociation:ResolverFirewallRuleGroupAssociation"
    DNS_FIREWALL_CONFIG = "aws:route53/resolverFirewallConfig:ResolverFirewallConfig"
    LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
    LOG_METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
    METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"

    # GCP
    GKE_CLUSTER = "gcp:container/cluster:Cluster"
    GKE_NODE_POOL = "gcp:container/nodePool:NodePool"
    NETWORK = "gcp:compute/network:Network"
    SUBNETWORK = "gcp:compute/subnetwork:Subnetwork"
    ROUTER = "gcp:compute/router:Router"
    ROUTER_NAT = "gcp:compute/routerNat:RouterNat"
    NGFW_POLICY = "gcp:compute/networkFirewallPolicy:NetworkFirewallPolicy"
    NGFW_RULE = "gcp:compute/networkFirewallPolicyRule:NetworkFirewallPolicyRule"
    NGFW_ASSOCIATION = "gcp:compute/networkFirewallPolicyAssociation:NetworkFirewallPolicyAssociation"
    DNS_RESPONSE_POLICY = "gcp:dns/responsePolicy:ResponsePolicy"
    DNS_RESPONSE_POLICY_RULE = "gcp:dns/responsePolicyRule:ResponsePolicyRule"
    DNS_MANAGED_ZONE = "gcp:dns/managedZone:ManagedZone"
    DNS_RECORD_SET = "gcp:dns/recordSet:RecordSet"
    PROJECT_SERVICE = "gcp:projects/service:Service"
    PROJECT_IAM_MEMBER = "gcp:projects/iAMMember:IAMMember"
    SERVICE_ACCOUNT = "gcp:serviceaccount/account:Account"
    SERVICE_ACCOUNT_IAM_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember"
    GCS_BUCKET = "gcp:storage/bucket:Bucket"
    LOG_METRIC = "gcp:logging/metric:Metric"
    ALERT_POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
    GCS_BUCKET_IAM_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"

    # Kubernetes
    HELM_CHART = "kubernetes:helm.sh/v4:Chart"
    HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
    NAMESPACE = "kubernetes:core/v1:Namespace"
    CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
    SECRET = "kubernetes:core/v1:Secret"
    SERVICE = "kubernetes:core/v1:Service"
    DEPLOYMENT = "kubernetes:apps/v1:Deployment"
    DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
    NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
    CILIUM_NETWORK_POLICY = "kubernetes:cilium.io/v2:CiliumNetworkPolicy"
    FQDN_NETWORK_POLICY = "kubernetes:networking.gke.io/v1alpha1:FQDNNetworkPolicy"
    KARPENTER_NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
    KARPENTER_NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"


CLUSTERS = {"aws": T.EKS_CLUSTER, "gcp": T.GKE_CLUSTER}
CLOUD_PROVIDERS = {"aws": T.AWS_PROVIDER, "gcp": T.GCP_PROVIDER}
