# dnslab: the commands a user and CI run. Everything goes through .venv/bin/dnslab.
PYTHON ?= python3
VENV   := .venv
DNSLAB := $(VENV)/bin/dnslab
PYTEST := $(VENV)/bin/pytest
# LAB=NAME: the lab that lab-up, lab-status and lab-down act on (default: the topology's name, `default`).
LAB_NAME = $(if $(LAB),--name $(LAB))

.PHONY: help venv image lab-up lab-down lab-status test test-library unit integration bench soak clean wheel install

help:
	@echo "make lab-up     create .venv and build the image if missing (side by side), start the default lab, print its status"
	@echo "make test       import contracts, unit + integration tests against real containers, without the library (about 30 minutes)"
	@echo "make test-library  the incident library (DNSSEC ones too) both ways + dnslab matrix (about 16 minutes)"
	@echo "make lab-down   remove everything the lab created"
	@echo "make bench      benchmarks against same-run baselines (RUNS=5, ONLY=...): bench/results.json"
	@echo "make wheel      build dist/dnslab-VERSION-py3-none-any.whl (topologies, playbooks, image recipe inside)"
	@echo "make install    install that wheel with pipx: dnslab on PATH, usable from any directory"

# The venv's pip is the one python3 -m venv brings (upgrading it cost 3 s and changed nothing dnslab needs). pip
# passes setuptools' notice about editable installs on as a warning box: it says nothing to do, so it is filtered;
# pip's lines become a count (PIP_PROGRESS), so the 30-40 s of the install are not silent.
$(VENV)/.installed: pyproject.toml
	@echo "venv: creating $(VENV) ($(PYTHON) -m venv)"
	@$(PYTHON) -m venv $(VENV)
	@echo "venv: installing dnslab and its dependencies from PyPI (about 40 packages, 55 MB)"
	@start=$$(date +%s); { PYTHONWARNINGS="ignore:Editable installation" $(VENV)/bin/pip install \
	  --disable-pip-version-check --progress-bar off -e '.[test]' 2>&1; echo $$? > $(VENV)/.pip-exit; } \
	  | $(PIP_PROGRESS); rc=$$(cat $(VENV)/.pip-exit); \
	  [ "$$rc" != 0 ] || echo "venv: ready ($$(( $$(date +%s) - start )) s)"; exit $$rc
	@touch $@

# pip's own output is a screen of lines; one line every 10 packages says it is moving (its errors still show).
PIP_PROGRESS = awk '/^Collecting/ { n++; if (n % 10 == 0) { print "venv: " n " packages collected"; fflush() } } \
  /^Installing collected/ { print "venv: installing " n " packages"; fflush() } /^(ERROR|error)/ { print }'

venv: $(VENV)/.installed

# The lab image, if missing. `python3 -m lab.image` needs only the standard library, so lab-up runs it beside the
# venv's pip install instead of after it (with the Dockerfile builder it leaves the build to `dnslab up`).
image:
	@$(PYTHON) -m lab.image

lab-up:
	@$(MAKE) -s --no-print-directory -j2 venv image
	$(DNSLAB) up $(LAB_NAME)

lab-status: venv
	$(DNSLAB) status $(LAB_NAME)

lab-down: venv
	$(DNSLAB) down $(LAB_NAME)

# The import contracts first (pyproject.toml [tool.importlinter]: layers, lab.agents on its own, Docker only
# behind lab.runtime), a few seconds; then one pytest run, so its closing line counts unit and integration
# tests together. Integration tests build the image first when it is missing (see README, The image) and never
# skip under CI=true.
test: venv
	$(VENV)/bin/lint-imports --no-logo
	$(PYTEST) tests -m "not library"

# The incident library (playbooks/*-20??-*.yml), each playbook as written (its symptom, exit 1) and with its
# mitigation (exit 0), DNSSEC incidents included, plus `dnslab matrix` on one playbook: about 16 minutes (23 tests, 16 min 18 s in a clean clone here). CI runs
# it after `make test`.
test-library: venv
	$(PYTEST) tests -m library

unit: venv
	$(VENV)/bin/lint-imports --no-logo
	$(PYTEST) tests/unit

integration: venv
	$(PYTEST) tests/integration

clean:
	-$(DNSLAB) down --all
	rm -rf $(VENV) *.egg-info .pytest_cache

# Benchmarks (not in CI): figures next to baselines measured in the same run; writes bench/results.json and
# prints the table. RUNS=N runs per figure (default 5); ONLY=up,image,probes,faults,faults-dnssec,race,scale,wrapup picks some;
# ONLY=cold (only when asked for: about 5 minutes a run) times a clean clone's make lab-up, cold and warm caches.
bench: venv
	$(VENV)/bin/python bench/run.py --runs $(or $(RUNS),5) $(if $(ONLY),--only $(ONLY))

# Soak (not in CI): a 20-minute playbook with a fault every 2 minutes; the orchestrator's memory, threads, open
# files and the run directory sampled every 10 s (every second in the wrap-up) into runs/soak-<time>/soak.csv +
# summary.json, which says the wrap-up's peak memory. SOAK_MINUTES=N scales the playbook's waits to N minutes.
soak: venv
	$(VENV)/bin/python scripts/soak.py --minutes $(or $(SOAK_MINUTES),20)

# The wheel users install: everything dnslab reads at run time is inside it (topologies, playbooks, the image
# recipe, templates, agent code, the `dnslab init` starter; lab/bundle.py says how).
wheel: venv
	rm -rf dist
	$(VENV)/bin/pip wheel --quiet --no-deps -w dist .
	@ls dist/*.whl

# dnslab as a user has it: that wheel installed with pipx (pipx from Debian's packages when missing and root).
install: wheel
	@command -v pipx >/dev/null || { [ "$$(id -u)" = 0 ] && echo "installing pipx with apt-get" && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pipx >/dev/null; } || \
	  { echo "pipx is missing: sudo apt-get install pipx (or: python3 -m pip install --user pipx)"; exit 1; }
	pipx install --force dist/dnslab-*.whl
	@echo "dnslab is installed for this user; 'pipx ensurepath' puts its directory on PATH"
