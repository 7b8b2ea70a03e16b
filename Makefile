# imcorr: two commands on a fresh machine (only python3 and make needed).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
# the native kernels are rebuilt (pip install -e) when their sources change
BUILD_DEPS := pyproject.toml setup.py $(wildcard src/imcorr/_native/*.c src/imcorr/_native/*.h)
PYTEST_WORKERS ?= 2

.PHONY: demo test bench lint clean venv

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP_RUN): $(BUILD_DEPS) | $(PY)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

$(STAMP_DEV): $(BUILD_DEPS) | $(PY)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[dev]"
	touch $@ $(STAMP_RUN)

venv: $(STAMP_DEV)

demo: $(STAMP_RUN)
	$(VENV)/bin/imcorr demo

lint: $(STAMP_DEV)
	$(VENV)/bin/ruff check src tests benchmarks

test: $(STAMP_DEV)
	$(VENV)/bin/ruff check src tests benchmarks
	$(PY) -m pytest -n $(PYTEST_WORKERS) tests

bench: $(STAMP_DEV)
	$(PY) -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache imcorr-demo src/imcorr/_native/*.so
