"""proxgan.apps.checkpoint: atomic files, RNG round trip, the non-finite message, the Ctrl-C guard."""
import os
import random
import signal

import numpy as np
import pytest
import torch

from proxgan.apps.checkpoint import (InterruptGuard, NonFiniteLossError, check_finite, load_checkpoint, rng_state,
                                     save_checkpoint, set_rng_state)


def test_save_load_atomic(tmp_path):
    p = tmp_path / "sub" / "ck.pt"
    save_checkpoint(p, {"w": torch.arange(3.0), "epoch": 2})
    save_checkpoint(p, {"w": torch.arange(4.0), "epoch": 3})
    ck = load_checkpoint(p)
    assert ck["epoch"] == 3 and torch.equal(ck["w"], torch.arange(4.0))
    assert os.listdir(tmp_path / "sub") == ["ck.pt"]  # no temporary file left
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        load_checkpoint(tmp_path / "missing.pt")


def test_failed_save_keeps_old_file(tmp_path):
    p = tmp_path / "ck.pt"
    save_checkpoint(p, {"epoch": 1})
    with pytest.raises(Exception):
        save_checkpoint(p, {"bad": lambda: 0})  # a lambda cannot be pickled
    assert load_checkpoint(p) == {"epoch": 1} and os.listdir(tmp_path) == ["ck.pt"]


def test_rng_round_trip():
    s = rng_state()
    a = (torch.rand(3), np.random.rand(), random.random())
    set_rng_state(s)
    b = (torch.rand(3), np.random.rand(), random.random())
    assert torch.equal(a[0], b[0]) and a[1:] == b[1:]


def test_check_finite_message(tmp_path):
    check_finite(1.0, "loss", "here", None)
    ck = tmp_path / "ck.pt"
    save_checkpoint(ck, {})
    with pytest.raises(NonFiniteLossError, match=r"loss is nan at epoch 2.*last good checkpoint is kept at .*ck.pt"):
        check_finite(float("nan"), "loss", "epoch 2", str(ck))
    with pytest.raises(NonFiniteLossError, match="no checkpoint was written yet"):
        check_finite(float("inf"), "loss", "epoch 1", str(tmp_path / "none.pt"))


def test_guard_turns_first_sigint_into_a_request():
    before = signal.getsignal(signal.SIGINT)
    with InterruptGuard() as g:
        os.kill(os.getpid(), signal.SIGINT)
        assert g.requested
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before


def test_resume_config_check():
    from proxgan.apps.checkpoint import check_resume_config

    old = {"optimizer": "adam", "lam": 0.0, "epochs": 2, "out": "a", "g": {"penalty": "l1"}}
    check_resume_config(old, {**old, "epochs": 5, "out": "b"})
    with pytest.raises(ValueError, match=r"optimizer: checkpoint 'adam', now 'proxadam'"):
        check_resume_config(old, {**old, "optimizer": "proxadam"})
    with pytest.raises(ValueError, match=r"g\.penalty: checkpoint 'l1'"):
        check_resume_config(old, {**old, "g": {"penalty": "l2"}})
