"""Pulumi components: they translate the domain's decisions into resources and decide nothing."""
