# Fresh-machine entry points. `make demo` runs Baton's main job; `make test` runs the test suite.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test install services bench clean

$(BIN)/baton: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	@touch $(BIN)/baton

install: $(BIN)/baton

demo: install
	$(BIN)/baton demo

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/rules_throughput.py

clean:
	rm -rf $(VENV) .baton .pytest_cache
