# The two set-up commands of the README. Both build .venv from nothing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The CPU build of PyTorch that lies on this machine's disk; installed first so that
# nothing pulls a multi-GB CUDA build.
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: demo test bench bench-baseline venv clean gpu-check

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/proxgan demo

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests

# pytest-benchmark keeps its runs in bench/.baseline: `make bench-baseline` saves one,
# `make bench` compares against the saved ones (a regression shows as a slower median).
BENCH_OPTS := --benchmark-only --benchmark-storage=file://bench/.baseline --benchmark-columns=min,median,iqr,rounds

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) -m pytest -q bench $(BENCH_OPTS) --benchmark-compare

bench-baseline: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) -m pytest -q bench $(BENCH_OPTS) --benchmark-save=baseline

# GPU tests and benchmarks on a CUDA machine, offline, into results/gpu/ (bench/gpu_check.py).
# `make gpu-check DRY_RUN=1` lists the plan and checks the imports, on any machine.
# Uses .venv when there is one, else the machine's python3 with its preinstalled packages;
# GPU_OUT=DIR writes somewhere else than results/gpu.
GPU_PY ?= $(if $(wildcard $(PY)),$(PY),$(PYTHON))

gpu-check:
	$(GPU_PY) bench/gpu_check.py $(if $(DRY_RUN),--dry-run) $(if $(GPU_OUT),--out $(GPU_OUT))

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis

docs:
	$(PY) -m sphinx -b html -W --keep-going -n -j 1 docs docs/_build/html
