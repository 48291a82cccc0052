# `make demo` and `make test` work on a fresh clone with only Python 3.10+:
# each creates .venv when it is missing and installs what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	# PyTorch is an optional reference for tests and benchmarks: a CPU build is
	# on disk on the development machines; elsewhere this may fail, and the
	# comparisons skip.
	-$(PY) -m pip install -q torch==2.13.0 2>/dev/null || echo "PyTorch not installed: comparisons with it will skip"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m examples.demo $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -n 2 $(ARGS)

bench: $(STAMP)
	$(PY) -m benchmarks $(ARGS)

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis
