# make demo: create .venv, install, train the heads on the embedded corpus and print their scores.
# make test: create .venv, install with test extras, run the test suite.
# TORCH is the torch requirement and TORCH_INDEX the package index it is taken from (docs/getting-started.md):
#   make test TORCH_INDEX=https://download.pytorch.org/whl/cpu      # the CPU-only build anywhere
#   make demo TORCH_INDEX=https://download.pytorch.org/whl/cu130     # a given CUDA build
# With neither, pip resolves torch==2.13.0 from its configured index: from PyPI on Linux, the CUDA 13
# build (about 2.5 GB of wheels).
# make docs: render the result pages from bench/ (scripts/report.py) and build the site into site/.
PYTHON ?= python3
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench docs clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q "$(TORCH)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) scripts/demo.py

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) scripts/bench.py

docs: $(STAMP)
	$(PY) scripts/report.py
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

clean:
	rm -rf $(VENV) build site *.egg-info
