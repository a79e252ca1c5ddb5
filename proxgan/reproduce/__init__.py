"""``proxgan reproduce NAME``: one command per published table.

Each reproduction writes a Markdown table, CSVs and a PNG figure into
``results/NAME/``; ``quick=True`` shrinks it to seconds (the CI smoke test) and must be
given another folder, the default is the full size. The names live in
:data:`proxgan._registry.REPRODUCTIONS`:

========================  ===========================================================
``glmnet-table1``         Friedman, Hastie & Tibshirani (2010), Table 1: Lasso path timings
``lasso-benchopt``        suboptimality vs time and time to tolerance on problems L1–L5
``fista``                 Beck & Teboulle (2009): F(x_k) − F* for ISTA and FISTA
``proxgen``               ProxGen-style sparsity/accuracy table (Adam+L1 in loss, ProxSGD, ProxAdam)
``sparse-gan``            GAN sample quality vs sparsity with L1 / L2 on G, on D, on both
``kernels``               soft-threshold and optimizer-step throughput against torch
``sparsity-speed``        accuracy against measured CPU latency along λ paths (L1, coupled GroupL1, N:M)
``nonconvex``             support recovery of L1, MCP, SCAD, L0, ℓ1/2, log-sum on a correlated design
``gan-images``            stacked MNIST modes, KL and Fréchet distance with L1 / L2 on G, on D, on both
========================  ===========================================================
"""
from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from proxgan._registry import REPRODUCTIONS, check_name

__all__ = ["REPRODUCTIONS", "reproduce"]


def reproduce(name: str, out_dir: str | Path | None = None, quick: bool = False,
              progress: bool = True, **options) -> dict[str, Path]:
    """Run the reproduction ``name`` (:data:`proxgan._registry.REPRODUCTIONS`) and return the paths it wrote.

    ``out_dir`` defaults to ``results/NAME`` for a full run; a ``quick`` run (a smoke
    test) must be given a folder, so that it never lands on the committed results
    (``proxgan reproduce NAME --quick`` picks a temporary one). ``options`` (e.g.
    ``data="cifar10", data_root="~/data", seeds=5``) go to reproductions that take them;
    ``None`` values are dropped, and an option a reproduction does not take is an error.
    Paths of files that were not written (a figure without matplotlib) are left out.

    Parameters
    ----------
    name : str
        A name of :data:`REPRODUCTIONS`.
    out_dir : str or pathlib.Path, optional
        Output folder (default ``results/NAME``; required when ``quick``).
    quick : bool
        A seconds-long smoke run.
    progress : bool
        Show progress.
    **options
        Options of the reproduction (``data``, ``data_root``, ``epochs``, ``seeds``, ``jobs``, ...).
    """
    check_name(name, REPRODUCTIONS, "reproduction")
    module = importlib.import_module(REPRODUCTIONS[name].module)
    options = {k: v for k, v in options.items() if v is not None}
    accepted = inspect.signature(module.run).parameters
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"reproduction {name!r} does not take {', '.join('--' + u.replace('_', '-') for u in unknown)}")
    if out_dir is None:
        if quick:
            raise ValueError("a quick (smoke) run needs an output folder: it must not overwrite results/NAME")
        out_dir = Path("results") / name
    paths = module.run(Path(out_dir), quick=quick, progress=progress, **options)
    return {k: v for k, v in paths.items() if v is not None}
