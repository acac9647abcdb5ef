# nova-sim: `make run`, `make test`, `make bench`.
# Each target creates or reuses .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: run test test-quick test-slow test-reliability test-db test-browser conformance conformance-full bench lint sample-config docs-outputs clean

$(VENV)/.stamp-base: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

$(VENV)/.stamp-test: $(VENV)/.stamp-base
	$(PIP) install -q -e '.[test]'
	touch $(VENV)/.stamp-client
	touch $@

# Selenium for the dashboard's browser tests (the browser is Debian's chromium).
$(VENV)/.stamp-browser: $(VENV)/.stamp-test
	$(PIP) install -q -e '.[browser]'
	touch $@

$(VENV)/.stamp-bench: $(VENV)/.stamp-base
	$(PIP) install -q -e '.[bench]'
	touch $@

# The openstack CLI (and openstacksdk) that the README drives the cloud with.
$(VENV)/.stamp-client: $(VENV)/.stamp-base
	$(PIP) install -q -e '.[client]'
	touch $@

# `make run PORT=8775` serves the compute API on another port (0: any free port);
# `DASHBOARD_PORT=8781` the dashboard.
PORT ?=
DASHBOARD_PORT ?=
run: $(VENV)/.stamp-base $(VENV)/.stamp-client
	$(PY) -m nova_sim.cmd.main run --demo-boots 3 $(if $(PORT),--port $(PORT))$(if \
		$(DASHBOARD_PORT), --dashboard-port $(DASHBOARD_PORT))

# ruff, then import-linter's contracts: the layer plan of docs/architecture.md.
lint: $(VENV)/.stamp-test
	$(VENV)/bin/ruff check nova_sim tests tools
	$(VENV)/bin/lint-imports

# Which tests run where:
#   make test        lint, then every test, the slow ones included (CI: .ci/run runs this)
#   make test-quick  lint, then every test but the slow ones (while working)
#   make test-slow   only the slow ones: fuzzing and the tests that start processes
#   make test-reliability  the long reliability drills (CI: after make test)
#   make test-db     the database tests' MariaDB and PostgreSQL variants (CI: after make test)
#   make test-browser  the dashboard in headless Chromium (CI: last; installs chromium and
#                    chromium-driver with apt-get when missing)
test: lint
	$(PY) -m pytest -q -m "not backends and not reliability and not browser"

test-quick: lint
	$(PY) -m pytest -q -m "not slow and not backends and not browser"

test-slow: $(VENV)/.stamp-test
	$(PY) -m pytest -q -m "slow and not backends and not browser"

# The database tests' MariaDB (127.0.0.1:3306) and PostgreSQL (127.0.0.1:5432) variants:
# each run creates and drops databases of its own. NOVA_SIM_REQUIRE_DBS=1 (.ci/run) makes
# a server that is down fail them instead of skipping them.
test-reliability: $(VENV)/.stamp-test
	$(PY) -m pytest -q -m reliability

test-db: $(VENV)/.stamp-test
	$(PY) -m pytest -q -m backends

test-browser: $(VENV)/.stamp-browser
	$(PY) -m pytest -q -m browser

# OpenStack's own tests against a `nova-sim run` with keystone auth (tools/conformance.py;
# figures: docs/conformance.md). tempest 47.0.0, openstacksdk 4.22.0 and pytest go into a
# virtualenv of their own, never into the project's.
#   make conformance       the CI subset (etc/nova-sim/tempest/ci-tests.txt): must pass
#   make conformance-full  all of tempest.api.compute and the sdk's compute functional tests
TEMPEST_VENV := .venv-tempest

$(TEMPEST_VENV)/.stamp:
	test -x $(TEMPEST_VENV)/bin/python || $(PYTHON) -m venv $(TEMPEST_VENV)
	$(TEMPEST_VENV)/bin/python -m pip install -q --upgrade pip
	$(TEMPEST_VENV)/bin/python -m pip install -q tempest==47.0.0 openstacksdk==4.22.0 oslotest pytest
	touch $@

conformance: $(VENV)/.stamp-base $(TEMPEST_VENV)/.stamp
	$(PY) tools/conformance.py --suite ci --venv $(TEMPEST_VENV)

conformance-full: $(VENV)/.stamp-base $(TEMPEST_VENV)/.stamp
	$(PY) tools/conformance.py --suite full --suite sdk --venv $(TEMPEST_VENV)

# Every benchmark, peers side by side (figures and commands: docs/benchmarks.md).
# bench_rpc needs RabbitMQ on 127.0.0.1:5672; bench_api needs wrk (installed if missing).
bench: $(VENV)/.stamp-bench $(VENV)/.stamp-test
	$(PY) tools/bench_green.py
	$(PY) tools/bench_rpc.py
	$(PY) tools/bench_cloud.py
	$(PY) tools/bench_scheduler.py
	$(PY) tools/bench_api.py
	$(PY) tools/bench_trace.py

# Regenerate the command outputs shown in README.md and docs/ (tools/doc_outputs.py says
# how blocks are marked; tools/sim_doc_output.py the simulate output of simulation.md and
# its README excerpt); tests/test_doc_outputs.py and tests/sim/test_docs.py fail while one
# differs.
docs-outputs: $(VENV)/.stamp-test
	$(PY) tools/doc_outputs.py --write
	$(PY) tools/sim_doc_output.py

sample-config: $(VENV)/.stamp-test
	$(VENV)/bin/oslo-config-generator --config-file etc/nova-sim/nova-sim-config-generator.conf

clean:
	rm -rf $(VENV) $(TEMPEST_VENV) .tempest build *.egg-info
