# Everything a fresh clone needs: `make plan` (offline plan of every stack) and `make test`.
# Targets are idempotent; a second run reuses .venv and the cached helm.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HELM   := .cache/bin/helm
PLAN_DIR ?= build/plan

.PHONY: install plan test helm tools bench clean

install: $(STAMP)

# Reinstall only when the pinned dependencies change.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

helm: $(HELM)

$(HELM): tools/fetch-helm.sh
	tools/fetch-helm.sh

# Tool environments of their own (their dependencies would constrain the project's pins): LiteLLM's
# config loader for the gateway tests, the policy pack's venv, checkov for the rendered manifests.
tools:
	tools/setup-litellm.sh
	tools/setup-policypack.sh
	tools/setup-checkov.sh

plan: install
	$(BIN)/sovereign plan --out $(PLAN_DIR)

# The chart tests render through the real helm binary; gateway, policy-pack and checkov tests use tools.
test: install helm tools
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/plan_benchmark.py

clean:
	rm -rf $(VENV) .cache build
