# Every command a person types. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Controller-side tools: ansible, its linters and the end-to-end tests.
OPS_VENV := .venv-ops
OPS := $(OPS_VENV)/bin
export ANSIBLE_CONFIG := $(CURDIR)/ansible/ansible.cfg
# Where `make deploy` / `make release` go; ARGS passes extra ansible-playbook arguments,
# e.g. make deploy ARGS="--check --diff" or INVENTORY=ansible/inventories/local.
INVENTORY ?= ansible/inventories/production
ARGS ?=
# The local VPS's, or the Ubuntu one's with LOCAL_VPS_DISTRO=ubuntu (as for vps.sh).
LOCAL_INVENTORY := ansible/inventories/local$(if $(filter ubuntu,$(LOCAL_VPS_DISTRO)),-ubuntu)
# The Ubuntu 24.04 LTS VPS of `make test-ubuntu` (MySQL 8), and the e2e tests run on it:
# the site, the units and data stores, TLS and a renewal, members and mail, the cache,
# the database connections, logs, access, the abuse limits and the audit trail (its JSON
# column is MySQL's own type there), the backup drill, a second converge and a reboot,
# releases under load and rollback.
UBUNTU_INVENTORY := ansible/inventories/local-ubuntu
UBUNTU_TESTS := $(addprefix tests/,test_site.py test_services.py test_tls.py test_members.py \
  test_microcache.py test_connections.py test_logs.py test_access.py test_abuse_limits.py \
  test_audit_trail.py test_backup.py test_lifecycle.py test_releases.py)
# Debian packages the backend tests and `make run` start as throwaway processes.
BACKEND_PACKAGES := mariadb-server mariadb-client redis-server
# The browser test's: Debian's Chromium and its driver, and certutil for the browser's
# trust store; axe-core comes from npm, pinned in tests/axe/package-lock.json.
BROWSER_PACKAGES := chromium chromium-driver libnss3-tools
AXE := tests/axe/node_modules/.installed
# Debian packages whose tools check the monitoring configuration offline (promtool,
# amtool, the blackbox exporter's --config.check).
MONITORING_LINT_PACKAGES := prometheus prometheus-alertmanager prometheus-blackbox-exporter

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

# --- setup -------------------------------------------------------------------

$(BIN)/.installed: backend/requirements.txt backend/requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r backend/requirements-dev.txt
	touch $@

.PHONY: venv
venv: $(BIN)/.installed ## Create the backend virtualenv from the pinned requirements

# One universal resolution (every Python the backend runs on, markers kept) with the
# hashes of every file PyPI has for each pin. Existing pins stay unless ARGS=--upgrade
# (or --upgrade-package NAME) says otherwise. Run from backend/.
LOCK := ../$(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
  --custom-compile-command "make lock"

.PHONY: lock
lock: venv ## Re-resolve backend/requirements*.txt (pinned, hashed) from requirements*.in
	cd backend && $(LOCK) $(ARGS) requirements.in -o requirements.txt
	cd backend && $(LOCK) $(ARGS) requirements-dev.in -o requirements-dev.txt

$(OPS)/.installed: ansible/requirements.txt tests/requirements.txt tests/audit/requirements.txt
	$(PYTHON) -m venv $(OPS_VENV)
	$(OPS)/pip install --quiet --upgrade pip
	$(OPS)/pip install --quiet -r ansible/requirements.txt -r tests/requirements.txt \
	  -r tests/audit/requirements.txt
	touch $@

.PHONY: ops-venv
ops-venv: $(OPS)/.installed ## Create the virtualenv of ansible, its linters and the e2e tests

.PHONY: backend-packages
backend-packages:
	@scripts/apt-ensure $(BACKEND_PACKAGES)

$(AXE): tests/axe/package.json tests/axe/package-lock.json
	@command -v npm >/dev/null || scripts/apt-ensure npm
	npm ci --prefix tests/axe --no-audit --no-fund --silent
	touch $@

.PHONY: browser-tools
browser-tools: $(AXE) ## Install what the browser test needs: Chromium, chromedriver, axe-core
	@scripts/apt-ensure $(BROWSER_PACKAGES)

# --- backend -----------------------------------------------------------------

.PHONY: run
run: venv backend-packages ## Run the API on :9500 with its own MariaDB, Redis and worker
	scripts/run-dev

.PHONY: clean-run
clean-run: ## Remove the data of `make run`
	rm -rf .run

.PHONY: test-backend
test-backend: venv backend-packages ## Backend tests against a throwaway MariaDB and Redis
	cd backend && ../$(BIN)/pytest

.PHONY: bench-api
bench-api: venv backend-packages ## Benchmark GET /health vs GET /locations under gunicorn (wrk)
	@scripts/apt-ensure wrk
	$(BIN)/python backend/bench/bench_api.py

# --- the local VPS -----------------------------------------------------------

.PHONY: up
up: ops-venv ## Boot the local VPS and deploy the whole stack on it (site.yml)
	local-vps/vps.sh start >/dev/null
	$(OPS)/ansible-playbook -i $(LOCAL_INVENTORY) ansible/site.yml
	@echo "The site runs: https://thedreamerscave.club/ on $$(local-vps/vps.sh info | sed -n 's/^VPS_ADDRESS=//p')"
	@echo "(make vps-info prints the address, the CA bundle and the ssh command)"

.PHONY: down
down: ## Remove the local VPS and everything it started
	local-vps/vps.sh stop

.PHONY: ssh
ssh: ## Open a root shell on the local VPS
	local-vps/vps.sh ssh

.PHONY: vps-info
vps-info: ## Print VPS_ADDRESS, VPS_CA_BUNDLE and VPS_SSH of the local VPS
	@local-vps/vps.sh info

# --- the local cluster ------------------------------------------------------
# Four local VPSs (the hosts of ansible/inventories/local-cluster) on one private
# network, one set of surroundings for all (local-vps/cluster.sh); HOST names one.
CLUSTER_INVENTORY := ansible/inventories/local-cluster
HOST ?=

.PHONY: cluster-up
cluster-up: ops-venv ## Boot the local cluster (edge, two app hosts, db) and run site.yml on it
	@t0=$$SECONDS; \
	local-vps/cluster.sh start >/dev/null && \
	$(OPS)/ansible-playbook -i $(CLUSTER_INVENTORY) ansible/site.yml && \
	echo "The cluster runs ($$((SECONDS - t0)) s): https://thedreamerscave.club/ on $$(local-vps/cluster.sh info | sed -n 's/^CLUSTER_EDGE=//p')" && \
	echo "(make cluster-info prints the hosts, their groups and ssh commands)"

.PHONY: cluster-down
cluster-down: ## Remove the local cluster and everything it started
	local-vps/cluster.sh stop

.PHONY: cluster-info
cluster-info: ## Print CLUSTER_CA_BUNDLE, CLUSTER_EDGE and a CLUSTER_HOST line per host
	@local-vps/cluster.sh info

.PHONY: cluster-status
cluster-status: ## Say what of the local cluster runs
	local-vps/cluster.sh status

.PHONY: cluster-ssh
cluster-ssh: ## Open a root shell on a host of the local cluster: make cluster-ssh HOST=tdc-db
	@test -n "$(HOST)" || { echo "make cluster-ssh HOST=<one of: $$(local-vps/cluster.sh info | sed -n 's/^CLUSTER_HOST=\([^ ]*\).*/\1/p' | xargs)>" >&2; exit 2; }
	local-vps/cluster.sh ssh $(HOST)

# The cluster's own tests (tests/cluster), on the cluster cluster-up leaves running.
.PHONY: test-cluster
test-cluster: cluster-up ## Boot the local cluster, run site.yml on it, then the tests of tests/cluster
	PATH=$(CURDIR)/$(OPS):$$PATH E2E_INVENTORY=$(CURDIR)/$(CLUSTER_INVENTORY) E2E_LOCAL_STATE=$(CURDIR)/.local-cluster \
	  $(OPS)/pytest -c tests/pytest.ini --durations=15 tests/cluster

# The rolling release (deploy.yml) over the cluster's web hosts under a client loop.
.PHONY: bench-cluster
bench-cluster: ops-venv ## Benchmark a rolling release on the local cluster: its time, requests served and failed
	PATH=$(CURDIR)/$(OPS):$$PATH E2E_INVENTORY=$(CURDIR)/$(CLUSTER_INVENTORY) E2E_LOCAL_STATE=$(CURDIR)/.local-cluster \
	  $(OPS)/python scripts/bench-cluster

# --- monitoring --------------------------------------------------------------
# The monitor host: the local VPS, or the one VPS_SSH names (VPS_SSH="ssh deploy@thedreamerscave.club").

.PHONY: monitor
monitor: ops-venv ## Open Prometheus (:9090) and Alertmanager (:9093) here through an SSH tunnel
	$(OPS)/python scripts/monitor tunnel

.PHONY: status
status: ops-venv ## Print the figures to look at first, from Prometheus: targets, errors, p99, queue, cert, backup, disk
	@$(OPS)/python scripts/monitor status

.PHONY: vps-status
vps-status: ## Say what of the local VPS runs
	local-vps/vps.sh status

# --- deployment --------------------------------------------------------------

.PHONY: deploy
deploy: ops-venv ## Provision INVENTORY (production by default) with site.yml
	$(OPS)/ansible-playbook -i $(INVENTORY) ansible/site.yml $(ARGS)

.PHONY: release
release: ops-venv ## Ship a new release of the app only (deploy.yml) to INVENTORY
	$(OPS)/ansible-playbook -i $(INVENTORY) ansible/deploy.yml $(ARGS)

.PHONY: rollback
rollback: ops-venv ## Go back one release on INVENTORY (rollback.yml)
	$(OPS)/ansible-playbook -i $(INVENTORY) ansible/rollback.yml $(ARGS)

.PHONY: backup
backup: ops-venv ## Take a full backup of INVENTORY's database now, into its off-host repository
	$(OPS)/ansible-playbook -i $(INVENTORY) ansible/backup.yml $(ARGS)

.PHONY: backups
backups: ops-venv ## List INVENTORY's backups (full backups, binary log shipments) with their times
	$(OPS)/ansible-playbook -i $(INVENTORY) ansible/backups.yml $(ARGS)

# From the controller, with the repository's credentials that may delete.
.PHONY: backups-prune
backups-prune: ops-venv ## Forget and prune INVENTORY's backups beyond the retention (7 daily, 4 weekly, 6 monthly)
	@scripts/apt-ensure restic
	$(OPS)/ansible-playbook -i $(INVENTORY) ansible/backups-prune.yml $(ARGS)

AT ?=
SNAPSHOT ?=
# AT is UTC. SNAPSHOT=id restores one full backup as it is (the safety backup a restore names).
.PHONY: restore
restore: ops-venv ## Restore INVENTORY's database: the latest, AT="YYYY-MM-DD HH:MM:SS" (UTC) or SNAPSHOT=id
	$(OPS)/ansible-playbook -i $(INVENTORY) ansible/restore.yml \
	  -e '{"backup_restore_at": "$(AT)", "backup_restore_snapshot": "$(SNAPSHOT)"}' $(ARGS)

.PHONY: mail-test
mail-test: ops-venv ## Send one test mail through INVENTORY's worker and relay: make mail-test TO=address
	@test -n "$(TO)" || { echo "make mail-test TO=<the address the test mail goes to>" >&2; exit 2; }
	$(OPS)/ansible-playbook -i $(INVENTORY) ansible/mail-test.yml -e app_mail_test_to='$(TO)' $(ARGS)

.PHONY: bench
bench: ops-venv ## Benchmark the local VPS: nginx vs gunicorn, microcache, deploy times (recreates it)
	@scripts/apt-ensure wrk
	$(OPS)/python scripts/bench-vps $(ARGS)

# --- checks ------------------------------------------------------------------

.PHONY: lint
lint: lint-python lint-lock lint-ops ## Every linter: ruff, yamllint, ansible-lint, syntax, nginx -t, gixy, promtool, amtool

.PHONY: lint-python
lint-python: venv
	$(BIN)/ruff check backend tests local-vps

# The lock files still resolve from requirements*.in as they are (same pins, same hashes):
# an edited .in file without `make lock` fails here.
.PHONY: lint-lock
lint-lock: venv
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	for lock in requirements requirements-dev; do \
	  cp backend/$$lock.txt "$$tmp/$$lock.txt"; \
	  (cd backend && $(LOCK) $$lock.in -o "$$tmp/$$lock.txt"); \
	  diff -u backend/$$lock.txt "$$tmp/$$lock.txt" || { echo "backend/$$lock.txt is stale: run make lock" >&2; exit 1; }; \
	done

.PHONY: lint-ops
lint-ops: ops-venv
	$(OPS)/yamllint -c ansible/.yamllint ansible/
	$(OPS)/ansible-lint --offline -c ansible/.ansible-lint ansible/
	for inventory in $(sort $(LOCAL_INVENTORY) $(UBUNTU_INVENTORY)) $(CLUSTER_INVENTORY) ansible/inventories/production; do \
	  for playbook in site deploy rollback backup backups backups-prune restore mail-test lint-nginx lint-monitoring; do \
	    $(OPS)/ansible-playbook -i $$inventory ansible/$$playbook.yml --syntax-check; \
	  done; \
	done
	@scripts/apt-ensure nginx
	$(OPS)/ansible-playbook -i localhost, -c local ansible/lint-nginx.yml
	@scripts/apt-ensure $(MONITORING_LINT_PACKAGES)
	$(OPS)/ansible-playbook -i localhost, -c local ansible/lint-monitoring.yml
	PATH=$(CURDIR)/$(OPS):$$PATH ansible/tests/preflight.sh

.PHONY: test-e2e
test-e2e: up browser-tools ## End-to-end tests of the deployed stack on the local VPS
	PATH=$(CURDIR)/$(OPS):$$PATH $(OPS)/pytest -c tests/pytest.ini --durations=15 tests --ignore=tests/cluster

# Every hardening figure (TLS, headers, nginx, systemd, SSH, firewall, updates, lynis,
# data stores, secrets, the API under hostile input) in one table; fails when a check fails.
.PHONY: audit
audit: up ## Audit the deployed stack's hardening with standard tools; one table
	@scripts/apt-ensure ssh-audit
	$(OPS)/python tests/audit/audit.py

# The Ubuntu path: a throwaway Ubuntu 24.04 VPS beside the Debian one (vps.sh's Ubuntu
# defaults: tdc-noble on 169.254.76, whatever LOCAL_VPS_NAME / LOCAL_VPS_NET say of the
# Debian one; UBUNTU_VPS_NAME / UBUNTU_VPS_NET move it), site.yml, UBUNTU_TESTS on it;
# the VPS is removed after, pass or fail.
UBUNTU_VPS_NAME ?=
UBUNTU_VPS_NET ?=
.PHONY: test-ubuntu
test-ubuntu: ops-venv ## Deploy on a throwaway Ubuntu 24.04 VPS (MySQL 8) and run the main e2e tests there
	unset LOCAL_VPS_NAME LOCAL_VPS_NET; \
	export LOCAL_VPS_DISTRO=ubuntu \
	  $(if $(UBUNTU_VPS_NAME),LOCAL_VPS_NAME=$(UBUNTU_VPS_NAME)) $(if $(UBUNTU_VPS_NET),LOCAL_VPS_NET=$(UBUNTU_VPS_NET)); \
	trap 'local-vps/vps.sh stop' EXIT; \
	local-vps/vps.sh start >/dev/null; \
	$(OPS)/ansible-playbook -i $(UBUNTU_INVENTORY) ansible/site.yml; \
	PATH=$(CURDIR)/$(OPS):$$PATH $(OPS)/pytest -c tests/pytest.ini --durations=15 $(UBUNTU_TESTS)

# --- everything --------------------------------------------------------------

.PHONY: test
test: lint test-backend test-e2e audit test-ubuntu test-cluster ## Run every test: linters, backend, the deployed stack, the audit, Ubuntu, the cluster
