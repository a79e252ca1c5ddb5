"""CUDA tests (marked ``gpu``): the same checks as the CPU suite, on a GPU when there is one.

Without CUDA every test here is skipped with the reason. ``make gpu-check`` runs them with
``TRITON_INTERPRET=0`` so that the Triton kernels are compiled for the card; under
``make test`` (``TRITON_INTERPRET=1``, see tests/conftest.py) the kernel tests skip because
the interpreter would only copy the tensors to the host.
"""
import os

import pytest
import torch

NO_CUDA = "no CUDA GPU: torch.cuda.is_available() is False (these tests run on a GPU, e.g. make gpu-check)"
INTERPRETED = "TRITON_INTERPRET=1 runs kernels on the host; compiled kernels need TRITON_INTERPRET=0 (make gpu-check)"


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.gpu)
            if not torch.cuda.is_available():
                item.add_marker(pytest.mark.skip(reason=NO_CUDA))


@pytest.fixture
def compiled_kernels():
    """Skip a test that is about the compiled Triton kernels when they would be interpreted."""
    if os.environ.get("TRITON_INTERPRET", "0") == "1":
        pytest.skip(INTERPRETED)
    pytest.importorskip("triton")
