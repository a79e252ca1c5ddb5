"""Shared fixtures of the app tests: one Fréchet-feature cache per session (trained once), one torch thread.

The models here are tiny: on a shared 2-core machine one intra-op thread is several
times faster than two (no spinning on busy cores). The previous count is restored after
each test so that other test folders are not affected.
"""
import sys
import types

import numpy as np
import pytest
import torch


@pytest.fixture(scope="session")
def fid_cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("fid_cache"))


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _fake_module(monkeypatch, name, **attrs):
    mod = types.ModuleType(name)
    for k, v in attrs.items():
        setattr(mod, k, v)
    monkeypatch.setitem(sys.modules, name, mod)
    parent, _, child = name.rpartition(".")
    if parent:
        if parent not in sys.modules:
            monkeypatch.setitem(sys.modules, parent, types.ModuleType(parent))
        monkeypatch.setattr(sys.modules[parent], child, mod, raising=False)
    return mod


def _fake_torchvision(monkeypatch, n=40):
    """A stand-in for torchvision.datasets with torchvision's data layouts (uint8 tensors / HWC arrays)."""
    class _Base:
        def __init__(self, root, train=True, download=False):
            assert download is False, "the apps must never download"
            rng = np.random.default_rng(0 if train else 1)
            m = n if train else n // 2
            self.targets = list(rng.integers(0, 10, m))
            self.data = self._data(rng, m)

    class MNIST(_Base):
        def _data(self, rng, m):
            return torch.from_numpy(rng.integers(0, 256, (m, 28, 28), dtype=np.uint8))

    class FashionMNIST(MNIST):
        pass

    class CIFAR10(_Base):
        def _data(self, rng, m):
            return rng.integers(0, 256, (m, 32, 32, 3), dtype=np.uint8)

    _fake_module(monkeypatch, "torchvision")
    _fake_module(monkeypatch, "torchvision.datasets", MNIST=MNIST, FashionMNIST=FashionMNIST, CIFAR10=CIFAR10)


@pytest.fixture
def fake_module(monkeypatch):
    """``fake_module(name, **attrs)`` puts a stand-in module into ``sys.modules`` for one test."""
    return lambda name, **attrs: _fake_module(monkeypatch, name, **attrs)


@pytest.fixture
def fake_torchvision(monkeypatch):
    """``fake_torchvision(n=40)`` installs a stand-in for torchvision.datasets (torchvision cannot be installed here)."""
    return lambda n=40: _fake_torchvision(monkeypatch, n)
