# Two commands for a fresh machine with Python 3.11 and Java 17:
#   make run    synthesise a small national-like dataset and run every stage on it (creates .venv first time)
#   make test   run the test suite
VENV ?= .venv
DFE_VENV ?= .venv-dfe
PYTHON ?= python3

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c constraints.txt -e '.[spark,s3,dev]'
	touch $@

# The DfE's own CIN and SSDA903 validators, the reference for tests/test_dfe_validator.py (they need pandas < 2)
$(DFE_VENV)/.installed: constraints-dfe.txt
	$(PYTHON) -m venv $(DFE_VENV)
	$(DFE_VENV)/bin/pip install --quiet -c constraints-dfe.txt csc-validator-be-cin csc-validator-be-903
	touch $@

.PHONY: install lint run test
install: $(VENV)/.installed

# The lint gate: make test runs it first and stops on any finding (configuration in pyproject.toml).
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

run: $(VENV)/.installed
	$(VENV)/bin/csc-demand run $(ARGS)

test: lint $(DFE_VENV)/.installed
	$(VENV)/bin/pytest $(ARGS)
