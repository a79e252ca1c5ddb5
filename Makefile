# The two set-up commands of the README. Both build .venv from nothing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# PyTorch is installed first, from the index pip is configured with: on Linux the default
# PyPI wheel of torch 2.13.0 is the CUDA build (several GB); to get the small CPU-only build
# instead, add pip's option for PyTorch's CPU wheel index (see PyTorch's install page), e.g.
# `make demo TORCH="torch==2.13.0 --index-url URL-OF-THE-CPU-INDEX"`.
# On macOS and Windows the default wheel is the CPU one. Any torch from 2.3 on works.
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast docs bench bench-baseline venv clean gpu-check

# --no-compile: pip does not byte-compile every installed module (about 30 s of a fresh set-up, most
# of it torch's); Python compiles the modules it imports at their first import, once.
PIP := $(PY) -m pip install --quiet --no-compile

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PIP) $(TORCH)
	$(PIP) -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/proxgan demo

# The whole suite, slow tier included, in JOBS worker processes (pytest-xdist, default 2:
# one per core of a 2-core machine; JOBS=0 runs it in this process). OpenMP threads sleep
# rather than spin when idle, so that two workers sharing the cores do not slow each other
# down many times over. It prints the 20 slowest tests. `make test-fast` leaves out the
# tests marked slow.
JOBS ?= 2
TEST_ENV := OMP_WAIT_POLICY=PASSIVE
test: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest -q -p no:cacheprovider -n $(JOBS) --dist worksteal --durations=20 tests

test-fast: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest -q -p no:cacheprovider -n $(JOBS) --dist worksteal -m "not slow" tests

# pytest-benchmark keeps its runs in bench/.baseline: `make bench-baseline` saves one,
# `make bench` compares against the saved ones (a regression shows as a slower median).
BENCH_OPTS := --benchmark-only --benchmark-storage=file://bench/.baseline --benchmark-columns=min,median,iqr,rounds

bench: $(STAMP)
	$(PIP) -e '.[dev,bench]'
	$(PY) -m pytest -q bench $(BENCH_OPTS) --benchmark-compare

bench-baseline: $(STAMP)
	$(PIP) -e '.[dev,bench]'
	$(PY) -m pytest -q bench $(BENCH_OPTS) --benchmark-save=baseline

# GPU tests and benchmarks on a CUDA machine, offline, into results/gpu/ (bench/gpu_check.py).
# `make gpu-check DRY_RUN=1` lists the plan and checks the imports, on any machine.
# Uses .venv when there is one, else the machine's python3 with its preinstalled packages;
# GPU_OUT=DIR writes somewhere else than results/gpu.
GPU_PY ?= $(if $(wildcard $(PY)),$(PY),$(PYTHON))

gpu-check:
	$(GPU_PY) bench/gpu_check.py $(if $(DRY_RUN),--dry-run) $(if $(GPU_OUT),--out $(GPU_OUT))

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis docs/_build docs/api docs/auto_examples

# The Sphinx site into docs/_build/html: installs the docs extra, runs every gallery example
# (about two minutes on a CPU), and fails on any warning or unresolved reference (-W -n).
# Nothing is downloaded while it builds.
docs: $(STAMP)
	$(PIP) -e '.[dev,docs]'
	$(PY) -m sphinx -b html -W --keep-going -n -j 2 docs docs/_build/html
