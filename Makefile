# imcorr: two commands on a fresh machine (only python3 and make needed).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LOCK := constraints/dev.txt
PIP := PIP_CONSTRAINT=$(abspath $(LOCK)) $(PY) -m pip  # the lock applies to build environments too
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
# the native kernels are rebuilt (pip install -e) when their sources change
BUILD_DEPS := pyproject.toml setup.py $(LOCK) $(wildcard src/imcorr/_native/*.c src/imcorr/_native/*.h)
PYTEST_WORKERS ?= 2

.PHONY: demo test bench lint clean venv lock browser

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP_RUN): $(BUILD_DEPS) | $(PY)
	$(PIP) install -q -c $(LOCK) pip
	$(PIP) install -q -c $(LOCK) -e .
	touch $@

$(STAMP_DEV): $(BUILD_DEPS) | $(PY)
	$(PIP) install -q -c $(LOCK) pip
	$(PIP) install -q -c $(LOCK) -e ".[dev]"
	touch $@ $(STAMP_RUN)

venv: $(STAMP_DEV)

demo: $(STAMP_RUN)
	$(VENV)/bin/imcorr demo

lint: $(STAMP_DEV)
	$(VENV)/bin/ruff check src tests benchmarks

# Debian's Chromium for the browser tests of the HTML report (tests/test_report_browser.py). Installed with
# apt when missing and we are root; otherwise those tests skip with a loud reason (and fail when CI=true).
# Playwright drives this binary; it never downloads a browser (no `playwright install`).
CHROMIUM := /usr/bin/chromium
browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "WARNING: $(CHROMIUM) is missing and we are not root: the browser tests will be skipped"; fi

test: $(STAMP_DEV) browser
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -n $(PYTEST_WORKERS) tests
	@echo '--- the Examples sections of the docstrings (doctests)'
	$(PY) -m pytest -q -p no:cacheprovider --doctest-modules src/imcorr
	@echo '--- the same suite on the NumPy twins of the native kernels (IMCORR_NATIVE=0)'
	IMCORR_NATIVE=0 $(PY) -m pytest -n $(PYTEST_WORKERS) -q tests

bench: $(STAMP_DEV)
	$(PY) -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache imcorr-demo src/imcorr/_native/*.so

# Re-pin the test and peer packages to the newest the registry serves (a deliberate, reviewed commit).
lock:
	PYTHON=$(PYTHON) sh constraints/relock.sh
