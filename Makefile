# Two entry points, each builds its own virtualenv from scratch on a fresh machine:
#   make demo   - run the offline customer-service demo on the embedded defaults
#   make test   - run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo demo-restart test bench bench-quick dist clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/python examples/demo.py

demo-restart: $(VENV)/.installed
	$(BIN)/python examples/restart_demo.py

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

bench: $(VENV)/.installed-test
	$(BIN)/python bench/bench_checkpointer.py

bench-quick: $(VENV)/.installed-test
	$(BIN)/python bench/bench_checkpointer.py --quick

# A wheel in dist/, installable on any machine with `pip install dist/*.whl`.
dist: | $(BIN)/python
	rm -rf dist
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir dist .

clean:
	rm -rf $(VENV) dist build *.egg-info .pytest_cache
