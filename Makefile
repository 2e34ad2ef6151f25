# Every target builds what it needs first, so a fresh clone needs only `make demo` / `make test`.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Re-install whenever a pin changes.
STAMP := $(VENV)/.installed-$(shell cat requirements/*.txt pyproject.toml | sha1sum | cut -c1-12)

.PHONY: venv demo test model evaluate bench backfill-demo sam-validate sam-build clean

$(STAMP): requirements/*.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check pip==26.3 setuptools==84.2.1
	$(BIN)/pip install -q --disable-pip-version-check -r requirements/dev.txt -r requirements/model_build.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

# Screen the sample photos through the real upload handler against an embedded S3 on loopback.
demo: venv
	$(BIN)/python -m screener_cli demo

test: venv
	$(BIN)/python -m pytest

# Rebuild the committed model in layers/model/ (trains on the built-in synthetic catalog).
model: venv
	$(BIN)/python -m model_build build-default

# Evaluation report (metrics.json, plots, index.html) under report/.
evaluate: venv
	$(BIN)/python -m model_build evaluate --out report

clean:
	rm -rf .aws-sam build report .pytest_cache
