"""proxgan.apps.train_gan: metrics on the 2-D mixture and on digits, resume equality, non-finite stop."""
import csv
import json
import os

import pytest
import torch

from proxgan.apps.checkpoint import NonFiniteLossError, load_checkpoint
from proxgan.apps.config import GANConfig, OptimConfig
from proxgan.apps.train_gan import train_gan



def _cfg(out, fid_cache, **kw):
    base = dict(data="ring8", epochs=2, batch_size=32, max_steps=3, n_eval=300, out=str(out), progress=False,
                plots=False, fid_cache=fid_cache)
    base.update(kw)
    return GANConfig(**base)


def test_smoke_ring8(tmp_path, fid_cache):
    d = OptimConfig("adam", 1e-3, "l1", 1e-3, "loss", betas=(0.5, 0.999))
    s = train_gan(_cfg(tmp_path, fid_cache, d=d, plots=True))
    assert s["status"] == "done"
    for f in ("metrics.csv", "metrics.json", "loss.png", "sparsity.png", "frechet.png", "samples.png", "checkpoint.pt"):
        assert (tmp_path / f).stat().st_size > 0, f
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert len(rows) == 2
    for col in ("d_loss", "g_loss", "d_penalty", "g_penalty", "frechet", "modes_covered", "mode_coverage", "hq_rate",
                "g_sparsity", "d_sparsity", "g_zero_channels", "d_zero_channels", "g_step_time_s", "d_step_time_s",
                "wall_time_s", "g_per_layer/0.weight", "d_per_layer/0.weight"):
        assert col in rows[0], col
    r = rows[-1]
    assert float(r["frechet"]) > 0 and 0 <= float(r["mode_coverage"]) <= 1 and 0 <= float(r["hq_rate"]) <= 1
    assert float(r["d_penalty"]) > 0 and float(r["g_penalty"]) == 0
    assert 0 < float(r["d_step_time_s"]) <= float(r["wall_time_s"])


def test_smoke_digits_dcgan(tmp_path, fid_cache):
    s = train_gan(_cfg(tmp_path, fid_cache, data="digits", epochs=1, max_steps=2, n_eval=100, plots=True))
    assert s["status"] == "done" and s["frechet"] > 0 and "mode_coverage" not in s
    assert (tmp_path / "samples.png").stat().st_size > 0
    assert any(f.startswith("digits-lenet") for f in os.listdir(fid_cache))


@pytest.mark.parametrize("prox", [False, True])
def test_resume_mid_epoch_equals_uninterrupted(tmp_path, fid_cache, prox):
    g = OptimConfig("proxadam", 1e-3, "l1", 1e-2, betas=(0.5, 0.999)) if prox else OptimConfig("adam", 1e-3, betas=(0.5, 0.999))
    d = OptimConfig("adam", 1e-3, "l1", 1e-3, "loss", betas=(0.5, 0.999))
    train_gan(_cfg(tmp_path / "ref", fid_cache, g=g, d=d))

    def stop(epoch, step, guard):
        if (epoch, step) == (1, 0):
            guard.request()

    assert train_gan(_cfg(tmp_path / "cut", fid_cache, g=g, d=d), step_callback=stop)["status"] == "interrupted"
    train_gan(_cfg(tmp_path / "cut", fid_cache, g=g, d=d, resume=True))
    a = load_checkpoint(tmp_path / "ref" / "checkpoint.pt")
    b = load_checkpoint(tmp_path / "cut" / "checkpoint.pt")
    for net in ("G", "D"):
        assert all(torch.equal(a[net][k], b[net][k]) for k in a[net])
    assert a["G_ema"]["steps"] == b["G_ema"]["steps"] == 6
    assert all(torch.equal(a["G_ema"]["module"][k], b["G_ema"]["module"][k]) for k in a["G_ema"]["module"])
    ra = json.load(open(tmp_path / "ref" / "metrics.json"))
    rb = json.load(open(tmp_path / "cut" / "metrics.json"))
    assert ra[-1]["frechet"] == rb[-1]["frechet"]


def test_non_finite_stops(tmp_path, fid_cache, monkeypatch):
    import proxgan.apps.train_gan as tg

    nets = []
    orig = tg.build_optimizer
    monkeypatch.setattr(tg, "build_optimizer", lambda model, cfg: (nets.append(model), orig(model, cfg))[1])

    def poison(epoch, step, guard):
        if (epoch, step) == (1, 0):
            with torch.no_grad():
                nets[0][0].weight.fill_(float("inf"))   # the generator

    with pytest.raises(NonFiniteLossError, match=r"discriminator loss is nan at epoch 2, step 2.*last good checkpoint"):
        train_gan(_cfg(tmp_path, fid_cache), step_callback=poison)
    ck = load_checkpoint(tmp_path / "checkpoint.pt")
    assert ck["epoch"] == 1 and all(bool(torch.isfinite(v).all()) for v in ck["G"].values())


def test_eval_every_skips_evaluation_but_not_the_last_epoch(tmp_path, fid_cache):
    train_gan(_cfg(tmp_path, fid_cache, epochs=3, eval_every=2, max_steps=2))
    rows = json.load(open(tmp_path / "metrics.json"))
    assert ["frechet" in r for r in rows] == [False, True, True]
    assert all("g_sparsity" in r and "d_loss" in r for r in rows)
    with pytest.raises(ValueError, match="eval_every must be an int >= 1"):
        _cfg(tmp_path, fid_cache, eval_every=0).validate()


def test_stacked_mnist_with_packing(tmp_path, monkeypatch):
    import proxgan.apps.train_gan as tg

    seen = []
    orig = tg.build_optimizer

    def spy(model, cfg):
        if not seen:  # the generator is built first; record what the discriminator (second) is fed
            seen.append(None)
        else:
            model.register_forward_pre_hook(lambda m, inp: seen.append(tuple(inp[0].shape)))
        return orig(model, cfg)

    monkeypatch.setattr(tg, "build_optimizer", spy)
    cfg = GANConfig(data="stacked-mnist", epochs=1, batch_size=16, n_train=32, width=8, pack=2, n_eval=100,
                    n_mode_samples=300, out=str(tmp_path), progress=False, plots=False, threads=1)
    s = train_gan(cfg)
    assert s["status"] == "done" and s["mode_samples"] == 300
    assert 1 <= s["modes_covered"] <= 300 and 0 <= s["kl_uniform"] <= __import__("math").log(1000) + 1e-9
    assert s["frechet"] == pytest.approx((s["frechet_r"] + s["frechet_g"] + s["frechet_b"]) / 3)
    assert 0 < s["frechet_floor"] < s["frechet"] and s["extractor"].startswith("mnist-lenet5 sha256:")
    assert set(seen[1:]) == {(8, 6, 28, 28)}  # 16 images -> 8 packs of 2 RGB images, real and fake alike
    assert load_checkpoint(tmp_path / "checkpoint.pt")["D"]["0.weight"].shape[1] == 6
    with pytest.raises(ValueError, match=r"batch_size \(16\) must be a multiple of pack \(3\)"):
        GANConfig(data="stacked-mnist", batch_size=16, pack=3).validate()
