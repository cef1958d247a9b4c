"""The domain layer: stack spec, sovereignty policy and verdicts. Pure Python, no Pulumi import."""
