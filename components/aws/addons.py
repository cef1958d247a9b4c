"""What GPU serving needs on the cluster besides nodes: EKS add-ons and the NVIDIA device plugin."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from sovereign.domain.topology import GPU_LABEL, GPU_TAINT

# DaemonSets that nodes need from their first boot: created before the node groups.
NODE_ADDONS = ("kube-proxy", "eks-pod-identity-agent")   # the CNI is Cilium (egress_cilium), not vpc-cni
# Deployments: they need the system nodes to schedule on, or the add-on never becomes ACTIVE.
SYSTEM_ADDONS = ("coredns", "metrics-server")  # metrics-server feeds the HPA
EBS_CSI = "aws-ebs-csi-driver"
EBS_CSI_SERVICE_ACCOUNT = ("kube-system", "ebs-csi-controller-sa")
# The AL2023 NVIDIA AMI has the driver and container toolkit but not the device plugin.
DEVICE_PLUGIN_CHART = "nvidia-device-plugin"
DEVICE_PLUGIN_REPO = "https://nvidia.github.io/k8s-device-plugin"
DEVICE_PLUGIN_VERSION = "0.17.4"


def addon(name: str, cluster: aws.eks.Cluster, addon_name: str, kubernetes_version: str,
          provider: pulumi.ProviderResource, opts: pulumi.ResourceOptions,
          service_account_role_arn: pulumi.Input[str] | None = None) -> aws.eks.Addon:
    # EKS's default version for the plan's Kubernetes version: upgrading the cluster upgrades the add-on.
    # The output form: the lookup runs beside the rest of the program instead of blocking it.
    version = aws.eks.get_addon_version_output(addon_name=addon_name, kubernetes_version=kubernetes_version,
                                               opts=pulumi.InvokeOutputOptions(provider=provider)).version
    return aws.eks.Addon(
        f"{name}-{addon_name}", cluster_name=cluster.name, addon_name=addon_name, addon_version=version,
        service_account_role_arn=service_account_role_arn,
        resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="OVERWRITE", opts=opts)


def device_plugin(name: str, cluster: aws.eks.Cluster, provider: k8s.Provider,
                  parent: pulumi.Resource) -> k8s.helm.v3.Release:
    key, _, effect = GPU_TAINT
    gpu_nodes = {"nodeSelectorTerms": [{"matchExpressions": [{"key": GPU_LABEL, "operator": "Exists"}]}]}
    return k8s.helm.v3.Release(
        f"{name}-{DEVICE_PLUGIN_CHART}", name=DEVICE_PLUGIN_CHART, chart=DEVICE_PLUGIN_CHART,
        version=DEVICE_PLUGIN_VERSION, repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=DEVICE_PLUGIN_REPO),
        namespace="kube-system",
        values={
            "tolerations": [{"key": key, "operator": "Exists", "effect": effect}],
            # Replaces the chart's default affinity, which wants node-feature-discovery labels.
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": gpu_nodes}},
        },
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, deleted_with=cluster))
