"""Shared test set-up.

Triton kernels run on CPU tensors under Triton's interpreter; the variable must be set
before Triton is first imported (proxgan imports it lazily, at the first launch).
"""
import os

os.environ.setdefault("TRITON_INTERPRET", "1")

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield
