# Every target sets up what it needs first, so each works on a fresh machine with Python 3.11.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: help setup lab test notebooks bench bench-quick clean

help:
	@echo "make lab        set up, then open the course in JupyterLab"
	@echo "make test       set up, then run ruff, mypy and every test (notebooks included) on"
	@echo "                Python 3.11, 3.12 and 3.13, each found on this machine, and on the"
	@echo "                lowest versions of the dependencies that pyproject.toml allows"
	@echo "make notebooks  re-execute every notebook in place on Python 3.12, so stored outputs are fresh"
	@echo "make bench      run every benchmark and write benchmarks/RESULTS.md"
	@echo "make bench-quick  a short smoke run of the benchmarks (what CI runs)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The course's JupyterLab settings (no news or update pop-ups), the same as on Binder.
SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json

$(SETTINGS): binder/overrides.json | $(BIN)/python
	mkdir -p $(dir $@)
	cp $< $@

$(VENV)/.course: pyproject.toml $(SETTINGS) | $(BIN)/python
	$(PIP) install -e '.[course]'
	touch $@

$(VENV)/.test: pyproject.toml $(SETTINGS) | $(BIN)/python
	$(PIP) install -e '.[course,test]'
	touch $@ $(VENV)/.course

setup: $(VENV)/.test

lab: $(VENV)/.course
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/00_start_here.ipynb

test: $(VENV)/.test
	$(BIN)/ruff check asynckit tests benchmarks data
	$(BIN)/ruff format --check asynckit tests benchmarks data
	$(BIN)/mypy
	$(BIN)/python tests/matrix.py -- -m "not slow"
	$(BIN)/python tests/lowest.py -- -m "not slow" tests
	$(BIN)/python -m pytest -m slow

# The stored outputs come from Python 3.12, the version Binder runs.
notebooks: $(VENV)/.test
	$(BIN)/python tests/matrix.py --versions 3.12 --script tests/execute_notebooks.py

$(VENV)/.bench: pyproject.toml $(VENV)/.test
	$(PIP) install -e '.[course,test,bench]'
	touch $@

bench: $(VENV)/.bench
	$(BIN)/python benchmarks/run.py

bench-quick: $(VENV)/.bench
	$(BIN)/python benchmarks/run.py --quick

clean:
	rm -rf $(VENV) .venvs build dist .pytest_cache .mypy_cache .ruff_cache
