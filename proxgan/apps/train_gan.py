r"""``proxgan train gan``: train a GAN with separate optimizers and penalties for G and D.

The losses are the non-saturating ones of Goodfellow et al. (2014):
:math:`L_D = -\log D(x) - \log(1 - D(G(z))) + R_1`, with the R1 gradient penalty of
:mod:`proxgan.apps.stabilisers` (weight ``cfg.r1``), and :math:`L_G = -\log D(G(z))`, each
plus its penalty when ``penalty_mode == "loss"``. The generator that is evaluated and
sampled is the moving average of G's weights (``cfg.ema``), restricted to G's non-zeros.
With ``cfg.pack = K > 1`` the discriminator sees packs of K samples
(:func:`proxgan.apps.stabilisers.pack`, PacGAN), so every loss term is over ``B / K`` packs.
Data: images (DCGAN-style pair sized to them, ``cfg.width`` channels), stacked MNIST
(:mod:`proxgan.apps.stacked`: 1,000 modes, fresh stacks every epoch) or a 2-D Gaussian
mixture (MLP pair). The defaults (:data:`proxgan.apps.config.GAN_DEFAULTS`) cover all
8 modes of ``ring8``, the 25 of ``grid25`` and at least 900 of the 1,000 of stacked MNIST.

Per epoch, ``metrics.csv`` / ``metrics.json`` in ``cfg.out`` get both losses, the
Fréchet distance of :mod:`proxgan.apps.fid` on ``cfg.n_eval`` samples from fixed noise
(for MNIST digits on the shipped frozen classifier, named in ``extractor``; for stacked
MNIST per colour channel, ``frechet_r/g/b``, and their mean), the same distance between
real train and test samples (``frechet_floor``: what sampling noise alone gives), mode
coverage and high-quality-sample rate for mixtures
(:func:`proxgan.apps.metrics.mode_stats`), modes covered of 1,000 and the KL to uniform
on ``cfg.n_mode_samples`` samples for stacked MNIST, exact-zero sparsity of G and D, zero
channels, the time spent in each ``optimizer.step()``, the epoch's wall time and the
time since the start (``elapsed_s``, evaluation included). Plots (redrawn at most every
20 s and after the last epoch):
``loss.png``, ``sparsity.png``, ``frechet.png`` and ``samples.png``.

Examples
--------
>>> from proxgan.apps.config import GANConfig, OptimConfig
>>> from proxgan.apps.train_gan import train_gan
>>> cfg = GANConfig(data="ring8", epochs=1, out="/tmp/gan",
...                 g=OptimConfig(lr=1e-3, penalty="l1", lam=1e-4, betas=(0.5, 0.999)))
>>> summary = train_gan(cfg)  # doctest: +SKIP
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from proxgan.apps.checkpoint import (InterruptGuard, check_finite, check_resume_config, load_checkpoint, make_out_dir,
                                     rng_state, save_checkpoint, set_rng_state)
from proxgan.apps.config import GANConfig, apply_threads
from proxgan.apps.data import MIXTURES, MissingExtraError, batch_indices, load_images, mixture_centers, mixture_std, sample_mixture
from proxgan.apps.classifier import frozen_classifier
from proxgan.apps.fid import FrechetScorer, extractor_id, feature_network
from proxgan.apps.metrics import MetricsLog, mode_stats, sparsity_report
from proxgan.apps.models import dcgan_discriminator, dcgan_generator, mlp_discriminator, mlp_generator
from proxgan.apps.optimizers import build_optimizer, penalty_loss
from proxgan.apps.progress import note_plots_skipped, progress_bar
from proxgan.apps.stabilisers import WeightEMA, pack, r1_penalty
from proxgan.apps.stacked import ChannelFrechet, StackedMNIST, mode_stats_stacked

__all__ = ["train_gan", "generate"]

StepCallback = Callable[[int, int, InterruptGuard], None]
_PLOT_EVERY_S = 20.0  # plots are redrawn at most this often (and after the last epoch): drawing costs ~1 s
_ACC = ("d_loss", "g_loss", "d_pen", "g_pen", "r1", "n", "d_step", "g_step", "wall")


def _zero_acc() -> dict[str, float]:
    return {k: 0.0 for k in _ACC}


@torch.no_grad()
def generate(g: nn.Module, z: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """Samples of generator ``g`` (in eval mode) for the noise ``z``, on the CPU.

    Parameters
    ----------
    g : torch.nn.Module
        The generator.
    z : torch.Tensor
        Noise, one row per sample.
    batch : int
        Samples per forward pass.
    """
    was = g.training
    g.eval()
    dev = next(g.parameters()).device
    out = torch.cat([g(zb.to(dev)).cpu() for zb in z.split(batch)])
    g.train(was)
    return out


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _timed_step(opt: torch.optim.Optimizer, device: str) -> float:
    _sync(device)
    t0 = time.perf_counter()
    opt.step()
    _sync(device)
    return time.perf_counter() - t0


def _f(x: Any) -> float:
    return float(x.detach()) if torch.is_tensor(x) else float(x)


def _plots(rows: list[dict[str, Any]], out: str, samples: torch.Tensor, mixture: str | None, epoch: int,
           who: str = "") -> None:
    from proxgan.apps.plots import image_grid, plot_curves, scatter_2d

    try:
        plot_curves(rows, ["d_loss", "g_loss"], os.path.join(out, "loss.png"), title=f"GAN losses ({who})",
                    ylabel="loss")
        plot_curves(rows, ["g_sparsity", "d_sparsity"], os.path.join(out, "sparsity.png"),
                    title=f"Exact zeros ({who})", ylabel="fraction", ylim=(0, 1))
        plot_curves(rows, ["frechet", "frechet_floor"], os.path.join(out, "frechet.png"),
                    title=f"Fréchet distance ({who})", ylabel="Fréchet distance (log scale)", logy=True)
        title = f"epoch {epoch} (EMA of G)" if rows and rows[-1].get("ema") else f"epoch {epoch}"
        if mixture is None:
            image_grid(samples, os.path.join(out, "samples.png"), title=title)
        else:
            scatter_2d(samples, mixture_centers(mixture), os.path.join(out, "samples.png"), title=title)
    except MissingExtraError:
        note_plots_skipped()


def _frechet_scorer(feat: nn.Module, real: torch.Tensor, per_channel: bool) -> Callable[[torch.Tensor], dict[str, float]]:
    """``score(samples) -> {"frechet": ...}`` (plus ``frechet_r/g/b`` per colour channel for stacked MNIST)."""
    if per_channel:
        return ChannelFrechet(feat, real).row
    scorer = FrechetScorer(feat, real)
    return lambda x: {"frechet": scorer(x)}


def train_gan(cfg: GANConfig, *, step_callback: StepCallback | None = None) -> dict[str, Any]:
    """Train a GAN as configured; write metrics, plots and checkpoints to ``cfg.out``.

    Parameters
    ----------
    cfg : GANConfig
    step_callback : callable, optional
        Called as ``step_callback(epoch, step, guard)`` after every G step.

    Returns
    -------
    dict
        The last metrics row plus ``status`` (``"done"`` or ``"interrupted"``) and ``checkpoint``.

    Raises
    ------
    proxgan.apps.checkpoint.NonFiniteLossError
        When a loss is NaN or infinite (the last good checkpoint is kept).
    """
    cfg.validate()
    out, dev = cfg.out, cfg.device
    apply_threads(cfg.threads)
    ckpt_path = os.path.join(out, "checkpoint.pt")
    mixture = cfg.data if cfg.data in MIXTURES else None
    latent = cfg.latent_dim
    ck = load_checkpoint(ckpt_path, map_location=dev) if cfg.resume else None
    if ck is not None:
        check_resume_config(json.loads(json.dumps(ck["config"])), json.loads(json.dumps(cfg.to_dict())))
    stacked = cfg.data == "stacked-mnist"
    images = pools = None
    if mixture:
        feat = feature_network(mixture, cache_dir=cfg.fid_cache, device=dev, seed=0)
        real_eval, _ = sample_mixture(mixture, cfg.n_eval, torch.Generator().manual_seed(99))
        real_other, _ = sample_mixture(mixture, cfg.n_eval, torch.Generator().manual_seed(98))
        shape: tuple[int, ...] = (2,)
    elif stacked:
        pools = StackedMNIST.load()
        feat = frozen_classifier(device=dev)
        real_eval, real_other = pools.reference(cfg.n_eval), pools.reference(cfg.n_eval, train=True)
        shape = pools.shape
    else:
        images = load_images(cfg.data, cfg.data_root)
        feat = feature_network(images, cache_dir=cfg.fid_cache, device=dev, seed=0)
        real_eval, real_other = images.x_test[: cfg.n_eval], images.x_train[: cfg.n_eval]
        shape = images.shape
    make_out_dir(out)
    # the same referee (network, real samples) for every seed; stacked MNIST: one per colour channel
    score = _frechet_scorer(feat, real_eval, stacked)
    floor = {k.replace("frechet", "frechet_floor"): v for k, v in score(real_other).items()}
    n_z = max(len(real_eval), cfg.n_mode_samples if stacked else 0)
    z_eval = torch.randn(n_z, latent, generator=torch.Generator().manual_seed(cfg.seed + 2024))
    k = cfg.pack

    torch.manual_seed(cfg.seed)
    if mixture:
        G = mlp_generator(latent, hidden=cfg.width).to(dev)
        D = mlp_discriminator(hidden=cfg.width, in_dim=2 * k).to(dev)
    else:
        G = dcgan_generator(latent, shape, cfg.width).to(dev)
        D = dcgan_discriminator((shape[0] * k,) + tuple(shape[1:]), cfg.width).to(dev)
    opt_g, pen_g = build_optimizer(G, cfg.g)
    opt_d, pen_d = build_optimizer(D, cfg.d)
    ema = WeightEMA(G, cfg.ema)
    bce = nn.BCEWithLogitsLoss()
    log = MetricsLog(out)
    epoch0, step0, acc0 = 0, 0, _zero_acc()
    if ck is not None:
        G.load_state_dict(ck["G"])
        D.load_state_dict(ck["D"])
        opt_g.load_state_dict(ck["opt_g"])
        opt_d.load_state_dict(ck["opt_d"])
        ema.load_state_dict(ck["G_ema"])
        set_rng_state(ck["rng"])
        epoch0, step0, acc0, log.rows = ck["epoch"], ck["step"], ck["accum"], ck["history"]
        if epoch0 >= cfg.epochs:
            return {**(log.rows[-1] if log.rows else {}), "status": "done", "checkpoint": ckpt_path}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg.to_dict(), f, indent=1)

    def checkpoint(epoch: int, step: int, accum: dict[str, float]) -> None:
        save_checkpoint(ckpt_path, {"G": G.state_dict(), "D": D.state_dict(), "G_ema": ema.state_dict(),
                                    "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "rng": rng_state(),
                                    "epoch": epoch, "step": step, "accum": accum, "history": log.rows,
                                    "config": cfg.to_dict()})

    status = "done"
    last_plot = time.perf_counter()
    with InterruptGuard() as guard:
        for epoch in range(epoch0, cfg.epochs):
            t_epoch = time.perf_counter()
            if mixture:
                x_epoch, _ = sample_mixture(mixture, cfg.n_train, torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch + 7))
                batches = list(torch.arange(cfg.n_train).split(cfg.batch_size))
            elif stacked:
                x_epoch = pools.epoch(cfg.n_train, cfg.seed, epoch)
                batches = list(torch.arange(cfg.n_train).split(cfg.batch_size))
            else:
                x_epoch = images.x_train
                batches = batch_indices(len(x_epoch), cfg.batch_size, cfg.seed, epoch)
            if cfg.max_steps is not None:
                batches = batches[: cfg.max_steps]
            first = step0 if epoch == epoch0 else 0
            acc = dict(acc0) if epoch == epoch0 else _zero_acc()
            t_start = time.perf_counter()
            bar = progress_bar(len(batches), f"epoch {epoch + 1}/{cfg.epochs}", cfg.progress, unit="step")
            bar.update(first)
            for step in range(first, len(batches)):
                real = x_epoch[batches[step]].to(dev)
                real = real[: len(real) - len(real) % k]  # whole packs only (a short last batch loses its rest)
                b = len(real)
                if b == 0:
                    continue
                ones, zeros = torch.ones(b // k, 1, device=dev), torch.zeros(b // k, 1, device=dev)
                fake = G(torch.randn(b, latent, device=dev))
                where = f"epoch {epoch + 1}, step {step + 1}"
                # discriminator
                pd = penalty_loss(pen_d)
                d_loss = bce(D(pack(real, k)), ones) + bce(D(pack(fake.detach(), k)), zeros)
                r1 = r1_penalty(D, pack(real, k), cfg.r1) if cfg.r1 > 0 else 0.0
                check_finite(_f(d_loss + r1 + pd), "the discriminator loss", where, ckpt_path)
                opt_d.zero_grad(set_to_none=True)
                (d_loss + r1 + pd).backward()
                acc["d_step"] += _timed_step(opt_d, dev)
                # generator
                pg = penalty_loss(pen_g)
                g_loss = bce(D(pack(fake, k)), ones)
                check_finite(_f(g_loss + pg), "the generator loss", where, ckpt_path)
                opt_g.zero_grad(set_to_none=True)
                (g_loss + pg).backward()
                acc["g_step"] += _timed_step(opt_g, dev)
                ema.update()
                acc["d_loss"] += _f(d_loss) * b
                acc["g_loss"] += _f(g_loss) * b
                acc["d_pen"] += _f(pd) * b
                acc["g_pen"] += _f(pg) * b
                acc["r1"] += _f(r1) * b
                acc["n"] += b
                bar.update(1)
                if step_callback is not None:
                    step_callback(epoch, step, guard)
                if guard.requested:
                    acc["wall"] += time.perf_counter() - t_start
                    checkpoint(epoch, step + 1, acc)
                    status = "interrupted"
                    break
            bar.close()
            if status == "interrupted":
                break
            row: dict[str, Any] = {"epoch": epoch + 1}
            n = max(acc["n"], 1)
            row.update(d_loss=acc["d_loss"] / n, g_loss=acc["g_loss"] / n, d_penalty=acc["d_pen"] / n,
                       g_penalty=acc["g_pen"] / n, r1_penalty=acc["r1"] / n, ema=cfg.ema)
            evaluated = (epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs
            if evaluated:
                samples = generate(ema.module, z_eval)
                finite = bool(torch.isfinite(samples).all())
                row.update(score(samples[: len(real_eval)]) if finite else {"frechet": float("nan")})
                row.update(floor, extractor=extractor_id(cfg.data))
                if stacked and finite:
                    row.update(mode_stats_stacked(feat, samples[: cfg.n_mode_samples]))
                samples = samples[: len(real_eval)]
                if mixture:
                    row.update(mode_stats(samples, mixture_centers(mixture), mixture_std(mixture)))
            sg, sd = sparsity_report(ema.module), sparsity_report(D)
            row.update(g_sparsity=sg["overall"], g_weight_sparsity=sg["weights"], g_zero_channels=sg["zero_channels_total"],
                       d_sparsity=sd["overall"], d_weight_sparsity=sd["weights"], d_zero_channels=sd["zero_channels_total"],
                       g_step_time_s=acc["g_step"], d_step_time_s=acc["d_step"],
                       wall_time_s=acc["wall"] + time.perf_counter() - t_start,
                       elapsed_s=(log.rows[-1]["elapsed_s"] if log.rows else 0.0) + acc["wall"] + time.perf_counter() - t_epoch,
                       g_per_layer=sg["per_layer"], d_per_layer=sd["per_layer"])
            log.append(row)
            checkpoint(epoch + 1, 0, _zero_acc())
            if cfg.plots and evaluated and (epoch + 1 == cfg.epochs or time.perf_counter() - last_plot > _PLOT_EVERY_S):
                _plots(log.rows, out, samples, mixture, epoch + 1, f"G: {cfg.g.describe()}; D: {cfg.d.describe()}")
                last_plot = time.perf_counter()
    summary: dict[str, Any] = {**(log.rows[-1] if log.rows else {}), "status": status, "checkpoint": ckpt_path}
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    return summary
