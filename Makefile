# Two commands for a fresh machine with Python 3.11 and Java 17:
#   make run    synthesise a small national-like dataset and run every stage on it (creates .venv first time)
#   make test   run the test suite
VENV ?= .venv
PYTHON ?= python3

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c constraints.txt -e '.[spark,s3,dev]'
	touch $@

.PHONY: install run test
install: $(VENV)/.installed

run: $(VENV)/.installed
	$(VENV)/bin/csc-demand run $(ARGS)

test: $(VENV)/.installed
	$(VENV)/bin/pytest $(ARGS)
