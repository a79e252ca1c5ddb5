"""Shared test set-up.

Triton kernels run on CPU tensors under Triton's interpreter; the variable must be set
before Triton is first imported (proxgan imports it lazily, at the first launch).
The numba solvers compile at their first call instead of running interpreted while a
background process compiles them (``PROXGAN_FIRST_CALL=compile``).
"""
import os

os.environ.setdefault("TRITON_INTERPRET", "1")
# compiled solvers compile at their first call (numba's default), so that no result depends on
# the state of the numba cache (tests/solvers/test_first_call.py tests the interpreted first call)
os.environ.setdefault("PROXGAN_FIRST_CALL", "compile")

import pytest  # noqa: E402
import torch  # noqa: E402


def pytest_collection_modifyitems(config, items):
    """The tests marked ``slow`` (a minute or more each, some of them) first, in collection order.
    ``make test`` runs pytest-xdist's work stealing, which hands each worker a contiguous share of
    this order and lets an idle worker take the end of another's: a long test near the end kept one
    worker busy for minutes after the other had run out; at the start, short tests fill in around it."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # a stable sort


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


@pytest.fixture(autouse=True)
def _kernels_mode():
    """Tests may switch PROXGAN_KERNELS with ``proxgan._dispatch.set_kernels_mode``; restore it after each."""
    from proxgan._dispatch import kernels_mode, set_kernels_mode

    before = kernels_mode()
    yield
    set_kernels_mode(before)
