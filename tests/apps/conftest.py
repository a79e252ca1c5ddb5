"""Shared fixtures of the app tests: one Fréchet-feature cache per session (trained once)."""
import pytest


@pytest.fixture(scope="session")
def fid_cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("fid_cache"))
