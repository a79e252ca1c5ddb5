"""Shared fixtures of the app tests: one Fréchet-feature cache per session (trained once), one torch thread.

The models here are tiny: on a shared 2-core machine one intra-op thread is several
times faster than two (no spinning on busy cores). The previous count is restored after
each test so that other test folders are not affected.
"""
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
