"""sovereign-inference: per-region sovereign LLM inference on Pulumi."""
