# Two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench dashboard venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/spanlike demo

test: $(STAMP)
	@$(PY) -m spanlike._numba_cache
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

dashboard: $(STAMP)
	$(PY) -m spanlike.service.dashboard

clean:
	rm -rf $(VENV) build *.egg-info
