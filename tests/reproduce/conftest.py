"""Shared fixtures of the reproduction tests."""
import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """The quick runs time tiny problems: one intra-op thread is faster on a shared machine, and the
    suite's other worker keeps the second core busy. The previous count is restored after each test."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def bars(monkeypatch):
    """Record every progress bar a reproduction makes: ``[bar]`` with ``desc``, ``total``, ``n``, ``closed``."""
    import proxgan.apps.progress as progress

    made = _Bars()

    class Recorder:
        def __init__(self, total, desc):
            self.total, self.desc, self.n, self.closed = total, desc, 0, False

        def update(self, n=1):
            self.n += n

        def set_postfix(self, **kwargs):
            pass

        def close(self):
            self.closed = True

    def fake(total, desc, enabled=True, *, leave=False, unit="it"):
        made.append(Recorder(total, desc))
        return made[-1]

    monkeypatch.setattr(progress, "progress_bar", fake)
    return made


class _Bars(list):
    def assert_one_full(self, name):
        """One bar labelled ``name``, run to its end and closed."""
        assert [b.desc for b in self] == [name]
        assert self[0].total > 0 and self[0].n == self[0].total and self[0].closed
