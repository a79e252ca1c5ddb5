"""The numba prox functions: one per code (the run-time switch is generated from them; its values are
checked against the penalties in tests/solvers/test_prox1d.py and the fused steps in tests/optim)."""
from __future__ import annotations

import inspect

from proxgan.kernels import _prox_cpu
from proxgan.kernels.fused_penalty import SCALARS, Code


def test_every_code_has_one_numba_prox_function():
    assert set(_prox_cpu.BRANCHES) == set(Code) == set(SCALARS)
    functions = list(_prox_cpu.BRANCHES.values())
    assert len({id(f) for f in functions}) == len(functions), "two codes share a prox function"
    for f in functions:
        assert list(inspect.signature(f.py_func).parameters) == ["u", "s", "a", "b", "one", "zero"]

