# Two commands on a fresh machine: `make report` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.honorcalc-installed
LAB    := $(VENV)/.honorcalc-lab-installed
DEMO   := data/demo

.PHONY: setup report test bench lab clean

setup: $(STAMP)

# Re-installs only when the dependency list changes; the package itself is editable.
# [test] brings the test tools and the [distributed] extra (tests/test_batch.py runs on Dask).
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "honorcalc needs Python 3.11 or newer; set PYTHON=python3.x")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m ipykernel install --sys-prefix --name honorcalc --display-name "Python (honorcalc)" >/dev/null
	touch $(STAMP)

$(DEMO)/units.csv: honorcalc/datasets/demo.py | $(STAMP)
	$(VENV)/bin/honorcalc demo --force $(DEMO)

# The same city as one workbook, the way a city office keeps it (params/demo.yaml runs it).
$(DEMO).xlsx: honorcalc/datasets/demo.py honorcalc/data/template.py | $(STAMP)
	$(VENV)/bin/honorcalc demo --force $(DEMO).xlsx

# The demo city's round report (from the workbook), then its annual report (from the CSV files);
# each prints where its HTML is.
report: $(STAMP) $(DEMO)/units.csv $(DEMO).xlsx
	$(VENV)/bin/honorcalc run params/demo.yaml
	$(VENV)/bin/honorcalc run params/demo-annual.yaml

# The test files spread over the machine's cores; a file's tests stay on one (its fixtures are made once).
test: $(STAMP)
	$(PY) -m pytest -q -n auto --dist loadfile

# Benchmarks against the peers and the toolchain; each prints one line per measurement.
bench: $(STAMP)
	$(PY) benchmarks/bench_stats.py
	$(PY) benchmarks/bench_fairness.py
	$(PY) benchmarks/bench_report.py
	$(PY) benchmarks/bench_scale.py
	$(PY) benchmarks/bench_province.py --run

# JupyterLab (the [lab] extra) on the report notebooks, package data in honorcalc/report/notebooks/:
# served from the repository root, so data/ and params/ are in its file browser; opens the round report.
$(LAB): pyproject.toml | $(STAMP)
	$(PY) -m pip install --quiet -e '.[lab]'
	touch $(LAB)

# (--allow-root only where make runs as root, as on a container; Jupyter refuses root otherwise)
lab: $(LAB) $(DEMO)/units.csv $(DEMO).xlsx
	$(VENV)/bin/jupyter lab --notebook-dir=. honorcalc/report/notebooks/round_report.ipynb \
		$(if $(filter 0,$(shell id -u)),--allow-root)

clean:
	rm -rf $(VENV) $(DEMO) $(DEMO).xlsx reports/*/
