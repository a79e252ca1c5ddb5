"""``proxgan train cnn``: train a CNN with a (proximal) optimizer and report accuracy, sparsity and speed.

Per epoch, ``metrics.csv`` / ``metrics.json`` in ``cfg.out`` get the training loss
(data term and penalty), test loss and accuracy, exact-zero sparsity (overall, of the
weights, per layer), zero channels, the summed time of ``optimizer.step()`` and the wall
time. ``loss.png`` and ``sparsity.png`` plot them; ``checkpoint.pt`` is rewritten
atomically after every epoch. At the end :func:`proxgan.prune.compaction_report`
compares parameters, FLOPs and inference time before and after removing zero channels
(``summary.json``).

Examples
--------
>>> from proxgan.apps.config import CNNConfig
>>> from proxgan.apps.train_cnn import train_cnn
>>> summary = train_cnn(CNNConfig(data="digits", epochs=1, out="/tmp/cnn", progress=False))  # doctest: +SKIP
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
from proxgan.apps.config import CNNConfig, apply_threads
from proxgan.apps.data import MissingExtraError, batch_indices, load_images
from proxgan.apps.metrics import MetricsLog, sparsity_report
from proxgan.apps.models import cnn_for
from proxgan.apps.optimizers import build_optimizer, penalty_loss
from proxgan.apps.progress import note_plots_skipped, progress_bar
from proxgan.prune import compaction_report

__all__ = ["train_cnn", "evaluate"]

StepCallback = Callable[[int, int, InterruptGuard], None]
_COMPACTION_REPEATS = 30  # interleaved timings of the model before and after compaction; medians reported


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: str, batch: int = 1000) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``(x, y)`` in eval mode.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier.
    x : torch.Tensor
        Images.
    y : torch.Tensor
        Labels.
    device : str
        Device the model is on.
    batch : int
        Images per forward pass.
    """
    was = model.training
    model.eval()
    loss = correct = 0.0
    for xb, yb in zip(x.split(batch), y.split(batch)):
        out = model(xb.to(device))
        loss += float(nn.functional.cross_entropy(out, yb.to(device), reduction="sum"))
        correct += float((out.argmax(1).cpu() == yb).sum())
    model.train(was)
    return loss / len(x), correct / len(x)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _plots(rows: list[dict[str, Any]], out: str, who: str = "") -> None:
    from proxgan.apps.plots import plot_curves

    try:
        plot_curves(rows, ["train_loss", "test_loss"], os.path.join(out, "loss.png"), title=f"Loss ({who})",
                    ylabel="cross-entropy")
        plot_curves(rows, ["sparsity", "weight_sparsity"], os.path.join(out, "sparsity.png"), title=f"Exact zeros ({who})",
                    ylabel="fraction", ylim=(0, 1))
    except MissingExtraError:
        note_plots_skipped()


def train_cnn(cfg: CNNConfig, *, step_callback: StepCallback | None = None) -> dict[str, Any]:
    """Train a CNN as configured; write metrics, plots and checkpoints to ``cfg.out``.

    Parameters
    ----------
    cfg : CNNConfig
    step_callback : callable, optional
        Called as ``step_callback(epoch, step, guard)`` after every optimizer step
        (tests use it to simulate Ctrl-C with ``guard.request()``).

    Returns
    -------
    dict
        The last metrics row plus ``status`` (``"done"`` or ``"interrupted"``),
        ``checkpoint`` and, when done, ``compaction``.

    Raises
    ------
    proxgan.apps.checkpoint.NonFiniteLossError
        When a loss is NaN or infinite (the last good checkpoint is kept).
    """
    cfg.validate()
    out, dev = cfg.out, cfg.device
    apply_threads(cfg.threads)
    ckpt_path = os.path.join(out, "checkpoint.pt")
    ck = load_checkpoint(ckpt_path, map_location=dev) if cfg.resume else None
    if ck is not None:
        check_resume_config(json.loads(json.dumps(ck["config"])), json.loads(json.dumps(cfg.to_dict())))
    data = load_images(cfg.data, cfg.data_root)
    make_out_dir(out)
    torch.manual_seed(cfg.seed)
    model = cnn_for(data.shape, data.n_classes, cfg.model).to(dev)
    opt, loss_groups = build_optimizer(model, cfg.optim)
    log = MetricsLog(out)
    epoch0, step0, acc0 = 0, 0, {"loss": 0.0, "pen": 0.0, "n": 0, "step_time": 0.0, "wall": 0.0}
    if ck is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        set_rng_state(ck["rng"])
        epoch0, step0, acc0, log.rows = ck["epoch"], ck["step"], ck["accum"], ck["history"]
        if epoch0 >= cfg.epochs:
            return {**(log.rows[-1] if log.rows else {}), "status": "done", "checkpoint": ckpt_path}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg.to_dict(), f, indent=1)

    def checkpoint(epoch: int, step: int, accum: dict[str, float]) -> None:
        save_checkpoint(ckpt_path, {"model": model.state_dict(), "optimizer": opt.state_dict(), "rng": rng_state(),
                                    "epoch": epoch, "step": step, "accum": accum, "history": log.rows,
                                    "config": cfg.to_dict()})

    status = "done"
    with InterruptGuard() as guard:
        for epoch in range(epoch0, cfg.epochs):
            batches = batch_indices(len(data.x_train), cfg.batch_size, cfg.seed, epoch)
            if cfg.max_steps is not None:
                batches = batches[: cfg.max_steps]
            first = step0 if epoch == epoch0 else 0
            acc = dict(acc0) if epoch == epoch0 else {"loss": 0.0, "pen": 0.0, "n": 0, "step_time": 0.0, "wall": 0.0}
            t_start = time.perf_counter()
            model.train()
            bar = progress_bar(len(batches), f"epoch {epoch + 1}/{cfg.epochs}", cfg.progress, unit="step")
            bar.update(first)
            for step in range(first, len(batches)):
                idx = batches[step]
                xb, yb = data.x_train[idx].to(dev), data.y_train[idx].to(dev)
                data_loss = nn.functional.cross_entropy(model(xb), yb)
                pen = penalty_loss(loss_groups)
                loss = data_loss + pen
                check_finite(float(loss.detach()), "the training loss", f"epoch {epoch + 1}, step {step + 1}", ckpt_path)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                _sync(dev)
                t0 = time.perf_counter()
                opt.step()
                _sync(dev)
                acc["step_time"] += time.perf_counter() - t0
                acc["loss"] += float(data_loss.detach()) * len(idx)
                acc["pen"] += float(pen.detach() if torch.is_tensor(pen) else pen) * len(idx)
                acc["n"] += len(idx)
                bar.update(1)
                bar.set_postfix(loss=f"{float(data_loss.detach()):.3f}")
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
            test_loss, test_acc = evaluate(model, data.x_test, data.y_test, dev)
            sp = sparsity_report(model)
            n = max(acc["n"], 1)
            log.append({
                "epoch": epoch + 1, "train_loss": acc["loss"] / n, "penalty": acc["pen"] / n,
                "test_loss": test_loss, "test_acc": test_acc,
                "sparsity": sp["overall"], "weight_sparsity": sp["weights"],
                "zero_channels": sp["zero_channels_total"], "step_time_s": acc["step_time"],
                "wall_time_s": acc["wall"] + time.perf_counter() - t_start,
                "per_layer": sp["per_layer"], "zero_channels_per_layer": sp["zero_channels"],
            })
            checkpoint(epoch + 1, 0, {"loss": 0.0, "pen": 0.0, "n": 0, "step_time": 0.0, "wall": 0.0})
            if cfg.plots:
                _plots(log.rows, out, cfg.optim.describe())
    summary: dict[str, Any] = {**(log.rows[-1] if log.rows else {}), "status": status, "checkpoint": ckpt_path}
    if status == "done" and cfg.measure_compaction:
        summary["compaction"] = {**compaction_report(model, data.x_test[:256].to(dev), repeats=_COMPACTION_REPEATS),
                                 "repeats": _COMPACTION_REPEATS}
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    return summary
