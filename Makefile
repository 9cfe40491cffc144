# make run   - install into .venv if needed, then start the bot (console chat when no token is set)
# make test  - install into .venv if needed, then lint, type-check and run the whole test suite

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install lint clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# vietnam-provinces 2026.9.0 (the old-to-new table behind data/units/vinhlong-tinh-2025.toml) says
	# Python >= 3.12 but runs on 3.11; pip refuses it there unless told, so it is installed first.
	$(BIN)/python -m pip install --quiet --ignore-requires-python "vietnam-provinces==2026.9.0"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/.installed

run: $(BIN)/.installed
	$(BIN)/python -m bot run

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
