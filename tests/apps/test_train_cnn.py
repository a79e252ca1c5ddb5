"""proxgan.apps.train_cnn: metrics files, resume equality bit for bit, Ctrl-C, non-finite stop, compaction."""
import csv
import json
import os
import signal

import pytest
import torch

from proxgan.apps.checkpoint import NonFiniteLossError, load_checkpoint
from proxgan.apps.config import CNNConfig, OptimConfig
from proxgan.apps.train_cnn import train_cnn


CONFIGS = {
    "adam-l1-loss": dict(optimizer="adam", penalty="l1", lam=1e-3, penalty_mode="loss"),
    "proxadam-l1": dict(optimizer="proxadam", penalty="l1", lam=1e-3),
    "proxsgd-group": dict(optimizer="proxsgd", penalty="group", lam=1e-2, lr=0.05),
}


_OPTIM = ("optimizer", "lr", "penalty", "lam", "penalty_mode", "momentum", "weight_decay")


def _cfg(out, **kw):
    base = dict(data="digits", epochs=2, batch_size=32, max_steps=4, out=str(out), progress=False, plots=False,
                measure_compaction=False)
    base.update({k: v for k, v in kw.items() if k not in _OPTIM})
    return CNNConfig(optim=OptimConfig(**{k: v for k, v in kw.items() if k in _OPTIM}), **base)


def _weights(out):
    return load_checkpoint(os.path.join(out, "checkpoint.pt"))["model"]


def test_smoke_files_and_values(tmp_path):
    s = train_cnn(_cfg(tmp_path, plots=True, measure_compaction=True, **CONFIGS["adam-l1-loss"]))
    assert s["status"] == "done" and s["epoch"] == 2
    for f in ("metrics.csv", "metrics.json", "loss.png", "sparsity.png", "checkpoint.pt", "summary.json", "config.json"):
        assert (tmp_path / f).stat().st_size > 0, f
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    for col in ("train_loss", "penalty", "test_loss", "test_acc", "sparsity", "weight_sparsity", "zero_channels",
                "step_time_s", "wall_time_s", "per_layer/0.weight", "zero_channels_per_layer/0.weight"):
        assert col in rows[0], col
    for r in rows:
        assert 0 <= float(r["test_acc"]) <= 1 and 0 <= float(r["sparsity"]) <= 1
        assert 0 < float(r["train_loss"]) < 10 and float(r["penalty"]) > 0
        assert 0 < float(r["step_time_s"]) <= float(r["wall_time_s"])
    js = json.load(open(tmp_path / "metrics.json"))
    assert js[1]["test_acc"] == float(rows[1]["test_acc"])
    c = json.load(open(tmp_path / "summary.json"))["compaction"]
    assert c["max_abs_output_diff"] <= 1e-6 and c["params_before"] == 13706


@pytest.mark.parametrize("name", list(CONFIGS))
def test_resume_mid_epoch_equals_uninterrupted(tmp_path, name):
    kw = CONFIGS[name]
    ref = train_cnn(_cfg(tmp_path / "ref", **kw))

    def stop(epoch, step, guard):
        if (epoch, step) == (0, 1):
            guard.request()

    s = train_cnn(_cfg(tmp_path / "cut", **kw), step_callback=stop)
    assert s["status"] == "interrupted"
    ck = load_checkpoint(tmp_path / "cut" / "checkpoint.pt")
    assert (ck["epoch"], ck["step"]) == (0, 2)
    s = train_cnn(_cfg(tmp_path / "cut", resume=True, **kw))
    assert s["status"] == "done"
    a, b = _weights(tmp_path / "ref"), _weights(tmp_path / "cut")
    assert all(torch.equal(a[k], b[k]) for k in a)
    ra = json.load(open(tmp_path / "ref" / "metrics.json"))
    rb = json.load(open(tmp_path / "cut" / "metrics.json"))
    assert [r["train_loss"] for r in ra] == pytest.approx([r["train_loss"] for r in rb], rel=1e-12)
    assert ref["test_acc"] == s["test_acc"]


def test_sigint_then_resume_at_epoch_boundary(tmp_path):
    kw = CONFIGS["adam-l1-loss"]
    train_cnn(_cfg(tmp_path / "ref", epochs=3, **kw))

    def ctrl_c(epoch, step, guard):
        if (epoch, step) == (1, 2):
            os.kill(os.getpid(), signal.SIGINT)  # the real Ctrl-C path

    train_cnn(_cfg(tmp_path / "cut", epochs=1, **kw))                      # stop after one epoch ...
    s = train_cnn(_cfg(tmp_path / "cut", epochs=3, resume=True, **kw), step_callback=ctrl_c)  # ... Ctrl-C in the 2nd
    assert s["status"] == "interrupted"
    train_cnn(_cfg(tmp_path / "cut", epochs=3, resume=True, **kw))
    a, b = _weights(tmp_path / "ref"), _weights(tmp_path / "cut")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_non_finite_loss_stops_and_keeps_checkpoint(tmp_path, monkeypatch):
    import proxgan.apps.train_cnn as tc

    params = []
    orig = tc.build_optimizer
    monkeypatch.setattr(tc, "build_optimizer", lambda model, cfg: (params.extend(model.parameters()), orig(model, cfg))[1])

    def poison(epoch, step, guard):
        if (epoch, step) == (1, 1):
            with torch.no_grad():
                params[0].fill_(float("nan"))

    with pytest.raises(NonFiniteLossError, match=r"training loss is nan at epoch 2, step 3.*last good checkpoint"):
        train_cnn(_cfg(tmp_path, epochs=3), step_callback=poison)
    ck = load_checkpoint(tmp_path / "checkpoint.pt")
    assert (ck["epoch"], ck["step"]) == (1, 0)
    assert all(bool(torch.isfinite(v).all()) for v in ck["model"].values())
    assert len(json.load(open(tmp_path / "metrics.json"))) == 1


def test_group_penalty_zero_channels_compact(tmp_path):
    s = train_cnn(_cfg(tmp_path, epochs=2, max_steps=20, optimizer="proxsgd", penalty="group", lam=0.3, lr=0.05,
                       measure_compaction=True))
    c = s["compaction"]
    assert s["zero_channels"] > 0
    assert c["params_after"] < c["params_before"] and c["flops_after"] < c["flops_before"]
    assert c["max_abs_output_diff"] <= 1e-6


def test_vgg_on_32x32_with_group_penalty_and_compaction(tmp_path, fake_torchvision):
    from proxgan.apps.models import cnn_for
    from proxgan.prune import compact

    fake_torchvision(n=48)
    s = train_cnn(_cfg(tmp_path, data="cifar10", data_root=str(tmp_path), epochs=1, batch_size=16, max_steps=3,
                       optimizer="proxsgd", penalty="group", lam=5.0, lr=0.1))
    assert s["status"] == "done" and s["zero_channels"] > 0
    model = cnn_for((3, 32, 32), 10)
    model.load_state_dict(_weights(tmp_path))
    model.eval()
    small = compact(model)
    assert sum(p.numel() for p in small.parameters()) < 620586 == sum(p.numel() for p in model.parameters())
    x = torch.randn(4, 3, 32, 32)
    assert (small(x) - model(x)).abs().max() <= 1e-5
