"""The ``proxgan`` console script: argument parsing only; every command calls the library."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="proxgan", description="Proximal optimizers for PyTorch.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="a short tour of the toolkit on embedded data")
    demo.add_argument("--out", default="results/demo", help="folder for report.md (default: results/demo)")
    _add_train(sub)
    _add_reproduce(sub)
    return parser


def _add_reproduce(sub: argparse._SubParsersAction) -> None:
    from proxgan.reproduce import REPRODUCTIONS

    rep = sub.add_parser("reproduce", help="rerun a published table; writes Markdown, CSV and PNG")
    rep.add_argument("name", choices=sorted(REPRODUCTIONS), help="which table")
    rep.add_argument("--quick", action="store_true", help="a small version that runs in seconds")
    rep.add_argument("--out", default=None, help="output folder (default: results/NAME)")
    rep.add_argument("--no-progress", action="store_true", help="no progress bar")
    rep.add_argument("--data", default=None, help="proxgen / sparse-gan: data set (default: digits)")
    rep.add_argument("--data-root", default=None, help="proxgen / sparse-gan: local folder of a torchvision data set")
    rep.add_argument("--epochs", type=int, default=None, help="proxgen / sparse-gan: epochs per run")


# ---- proxgan train cnn|gan: flags map one to one onto proxgan.apps.config -----------------

_OPTS = ("adam", "adamw", "sgd", "proxsgd", "proxadam")
_PENS = ("none", "l1", "l2", "elasticnet", "group", "l0", "nm")  # nm: N:M 2:4 (NM penalty, prox mode only)


def _add_common(p: argparse.ArgumentParser, *, data: tuple[str, ...], default_data: str, lr: float, out: str) -> None:
    p.add_argument("--optimizer", choices=_OPTS, default="adam", help="optimizer (default: adam)")
    p.add_argument("--penalty", choices=_PENS, default="none", help="penalty on the weights (default: none)")
    p.add_argument("--lam", type=float, default=0.0, help="penalty strength lambda (default: 0)")
    p.add_argument("--penalty-mode", choices=("prox", "loss"), default="prox",
                   help="prox: the optimizer applies the prox (proxsgd/proxadam); loss: add the penalty to the loss")
    p.add_argument("--lr", type=float, default=lr, help=f"learning rate (default: {lr:g})")
    p.add_argument("--momentum", type=float, default=0.9, help="momentum of sgd/proxsgd (default: 0.9)")
    p.add_argument("--weight-decay", type=float, default=0.0, help="optimizer weight decay (default: 0)")
    p.add_argument("--epochs", type=int, default=5, help="epochs (default: 5)")
    p.add_argument("--batch-size", type=int, default=64, help="mini-batch size (default: 64)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    p.add_argument("--data", choices=data, default=default_data, help=f"data set (default: {default_data})")
    p.add_argument("--data-root", default=None, help="local folder of a torchvision data set (never downloaded)")
    p.add_argument("--out", default=out, help=f"output folder (default: {out})")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--max-steps", type=int, default=None, help="at most this many batches per epoch (smoke tests)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--no-plots", action="store_true", help="no PNG plots")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (default: 0, torch's choice)")


def _add_train(sub: argparse._SubParsersAction) -> None:
    from proxgan.apps.config import CNN_DATA, GAN_DATA

    train = sub.add_parser("train", help="train a sparse CNN or GAN (metrics, plots, checkpoints in --out)")
    tsub = train.add_subparsers(dest="app", required=True)
    cnn = tsub.add_parser("cnn", help="CNN classifier: accuracy, sparsity, compaction")
    _add_common(cnn, data=CNN_DATA, default_data="digits", lr=1e-3, out="results/apps/cnn")
    cnn.add_argument("--model", choices=("auto", "lenet", "vgg"), default="auto", help="CNN (default: auto)")
    gan = tsub.add_parser("gan", help="GAN with penalties on G and/or D: Frechet distance, mode coverage, sparsity")
    _add_common(gan, data=GAN_DATA, default_data="ring8", lr=2e-4, out="results/apps/gan")
    for who in ("g", "d"):
        name = "generator" if who == "g" else "discriminator"
        gan.add_argument(f"--{who}-optimizer", choices=_OPTS, default=None, help=f"{name} optimizer (default: --optimizer)")
        gan.add_argument(f"--{who}-penalty", choices=_PENS, default=None, help=f"{name} penalty (default: --penalty)")
        gan.add_argument(f"--{who}-lam", type=float, default=None, help=f"{name} penalty strength (default: --lam)")
        gan.add_argument(f"--{who}-lr", type=float, default=None, help=f"{name} learning rate (default: --lr)")
    gan.add_argument("--beta1", type=float, default=0.5, help="Adam beta1 of G and D (default: 0.5)")
    gan.add_argument("--latent-dim", type=int, default=0, help="noise size (default: 16 for 2-D mixtures, 64 for images)")
    gan.add_argument("--n-eval", type=int, default=2000, help="samples for the Frechet distance (default: 2000)")
    gan.add_argument("--n-train", type=int, default=20000, help="mixture points per epoch (default: 20000)")
    gan.add_argument("--fid-cache", default=None, help="cache folder of the feature classifier")


def _common_kwargs(a: argparse.Namespace) -> dict:
    return dict(data=a.data, data_root=a.data_root, epochs=a.epochs, batch_size=a.batch_size, seed=a.seed,
                device=a.device, out=a.out, resume=a.resume, progress=not a.no_progress, plots=not a.no_plots,
                max_steps=a.max_steps, threads=a.threads)


def _run_train(a: argparse.Namespace) -> int:
    import sys

    from proxgan.apps.checkpoint import NonFiniteLossError
    from proxgan.apps.config import CNNConfig, GANConfig, OptimConfig
    from proxgan.apps.data import MissingExtraError

    try:
        if a.app == "cnn":
            from proxgan.apps.train_cnn import train_cnn

            cfg = CNNConfig(model=a.model, optimizer=a.optimizer, lr=a.lr, penalty=a.penalty, lam=a.lam,
                            penalty_mode=a.penalty_mode, momentum=a.momentum, weight_decay=a.weight_decay,
                            **_common_kwargs(a))
            summary = train_cnn(cfg)
        else:
            from proxgan.apps.train_gan import train_gan

            def one(who: str) -> OptimConfig:
                pick = lambda name, default: default if getattr(a, f"{who}_{name}") is None else getattr(a, f"{who}_{name}")  # noqa: E731
                return OptimConfig(pick("optimizer", a.optimizer), pick("lr", a.lr), pick("penalty", a.penalty),
                                   pick("lam", a.lam), a.penalty_mode, a.momentum, a.weight_decay, (a.beta1, 0.999))

            cfg = GANConfig(g=one("g"), d=one("d"), latent_dim=a.latent_dim, n_eval=a.n_eval, n_train=a.n_train,
                            fid_cache=a.fid_cache, **_common_kwargs(a))
            summary = train_gan(cfg)
    except (ValueError, MissingExtraError, FileNotFoundError) as exc:
        print(f"proxgan train {a.app}: error: {exc}", file=sys.stderr)
        return 2
    except NonFiniteLossError as exc:
        print(f"proxgan train {a.app}: stopped: {exc}", file=sys.stderr)
        return 3
    if summary["status"] == "interrupted":
        print(f"interrupted: checkpoint saved at {summary['checkpoint']}; continue with the same command and --resume",
              file=sys.stderr)
        return 130
    keys = [k for k in summary if not isinstance(summary[k], dict) and k not in ("status", "checkpoint")]
    print(f"proxgan train {a.app}: done, metrics in {a.out}")
    print("  " + ", ".join(f"{k}={summary[k]:.4g}" if isinstance(summary[k], float) else f"{k}={summary[k]}" for k in keys))
    if "compaction" in summary:
        c = summary["compaction"]
        print(f"  compaction: params {c['params_before']} -> {c['params_after']}, FLOPs {c['flops_before']} -> "
              f"{c['flops_after']}, inference {c['time_before_s'] * 1e3:.3f} ms -> {c['time_after_s'] * 1e3:.3f} ms")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from proxgan.demo import run_demo

        run_demo(args.out)
    elif args.command == "train":
        return _run_train(args)
    elif args.command == "reproduce":
        from proxgan.reproduce import reproduce

        try:
            paths = reproduce(args.name, args.out, quick=args.quick, progress=not args.no_progress,
                              data=args.data, data_root=args.data_root, epochs=args.epochs)
        except ValueError as exc:
            print(f"proxgan reproduce: error: {exc}", file=sys.stderr)
            return 2
        for path in paths.values():
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
