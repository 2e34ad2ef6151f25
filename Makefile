# Every target builds what it needs first, so a fresh clone needs only `make demo` / `make test`.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Re-install whenever a pin changes.
STAMP := $(VENV)/.installed-$(shell cat requirements/*.txt pyproject.toml | sha1sum | cut -c1-12)

.PHONY: venv demo test model evaluate bench layer-size backfill-demo sam-validate sam-build sam-check clean

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

# Backfill a few thousand generated catalog photos through the real BackfillFunction behind a
# local SQS event source mapping, on an embedded S3 + SQS (moto) on loopback; prints the report.
backfill-demo: venv
	$(BIN)/python -m screener_cli backfill demo

test: venv
	$(BIN)/python -m pytest

# Rebuild the committed model in layers/model/ (trains on the built-in synthetic catalog).
model: venv
	$(BIN)/python -m model_build build-default

# Evaluation report (metrics.json, plots, index.html) under report/.
evaluate: venv
	$(BIN)/python -m model_build evaluate --out report

# Speed figures (issue 6), no AWS, a few minutes: pipeline vs naive vs floor, stages, cold start,
# peak RSS, backfill worker under S3 latency. Prints Markdown tables; JSON in .cache/bench/.
bench: venv
	$(BIN)/python -m bench --json .cache/bench/figures.json

# The runtime layer as Lambda unpacks it, before and after the prune, smoke-tested under
# python3.12 (needs pip's index). `make bench` then includes the figure in its targets.
layer-size: venv
	PYENV_VERSION=3.12.1:3.11.7 $(BIN)/python -m bench.layer

# AWS SAM CLI in its own venv: its dependency pins clash with the dev tools'.
SAM_VENV := .venv-sam
SAM := SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed-$(shell cat requirements/sam.txt | sha1sum | cut -c1-12)
$(SAM_STAMP): requirements/sam.txt
	test -x $(SAM_VENV)/bin/python || $(PY) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q --disable-pip-version-check -r requirements/sam.txt
	rm -f $(SAM_VENV)/.installed-* && touch $@

# Lint the template, then build every function and layer as `sam deploy` would ship them.
# No Docker: the runtime layer picks Lambda's wheels itself; the python3.12 builders need a
# python3.12 on PATH (pyenv here: PYENV_VERSION exposes it beside 3.11).
sam-check: $(SAM_STAMP)
	$(SAM) validate --lint --region us-east-1
	PYENV_VERSION=3.12.1:3.11.7 $(SAM) build --region us-east-1
	@echo "unzipped sizes (a function plus its layers must stay under Lambda's 250 MB):"
	@du -sm .aws-sam/build/*/ | sed 's|.aws-sam/build/||; s|/$$||' | awk '{print "  " $$2 ": " $$1 " MB"}'

clean:
	rm -rf .aws-sam build report .pytest_cache
