"""Micro-benchmarks (pytest-benchmark) of soft-thresholding on the CPU.

    .venv/bin/python -m pytest bench/test_bench_soft_threshold.py --benchmark-only

Compares proxgan's path (``L1.prox``, out of place and in place) with
``torch.nn.functional.softshrink`` and the textbook ``sign(x) * clamp(|x| - t, 0)`` on
1M and 16M float32 values. For ratios measured side by side, run
``python bench/soft_threshold_ratios.py``.
"""
import pytest
import torch

from proxgan.penalties import L1

SIZES = {"1M": 1 << 20, "16M": 1 << 24}
LAM = 0.5


@pytest.fixture(scope="module", params=sorted(SIZES))
def data(request):
    g = torch.Generator().manual_seed(0)
    return torch.randn(SIZES[request.param], generator=g)


def test_proxgan_l1_prox(benchmark, data):
    benchmark.group = f"soft-threshold out-of-place n={data.numel()}"
    pen = L1(LAM)
    y = benchmark(pen.prox, data, 1.0)
    assert torch.equal(y == 0, data.abs() <= LAM)


def test_softshrink(benchmark, data):
    benchmark.group = f"soft-threshold out-of-place n={data.numel()}"
    benchmark(torch.nn.functional.softshrink, data, LAM)


def test_sign_clamp(benchmark, data):
    benchmark.group = f"soft-threshold out-of-place n={data.numel()}"
    benchmark(lambda x: torch.sign(x) * torch.clamp(x.abs() - LAM, min=0), data)


def test_proxgan_l1_prox_inplace(benchmark, data):
    benchmark.group = f"soft-threshold in-place n={data.numel()}"
    pen = L1(LAM)
    x = data.clone()
    # thresholding a thresholded vector is cheap to repeat and keeps the same work per call
    benchmark(pen.prox, x, 0.0, out=x)


def test_sign_clamp_inplace(benchmark, data):
    benchmark.group = f"soft-threshold in-place n={data.numel()}"
    x = data.clone()

    def step(x):
        x.copy_(torch.sign(x) * torch.clamp(x.abs() - 0.0, min=0))

    benchmark(step, x)
