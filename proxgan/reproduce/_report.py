"""Writing a reproduction's outputs: a Markdown table, a CSV and a PNG, each naming its machine.

A quick (smoke) run says so in its first lines. Without matplotlib the figure is skipped
with a one-line note (:func:`new_figure` hands back a stand-in that ignores every call).
"""
from __future__ import annotations

import csv
import datetime as _dt
import os
import platform
import re
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

__all__ = ["Table", "machine_info", "machine_line", "write_table", "new_figure", "save_figure", "rst_to_md",
           "mean_std", "pm", "bar", "tidy_log_axis", "run_many", "seeds_and_command", "note_partial", "SMOKE_NOTE"]

SMOKE_NOTE = ("**Smoke run (`--quick`)**: tiny sizes that only check that the command works; the numbers "
              "below mean nothing. The full table comes from the same command without `--quick`.")


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value) of ``values``."""
    vals = [float(v) for v in values]
    return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else 0.0)


def pm(values: Sequence[float], digits: int = 3) -> str:
    """``"mean ± std"`` of ``values`` with ``digits`` significant digits (``nan`` if any is NaN)."""
    m, s = mean_std(values)
    if m != m:
        return "n/a"
    return f"{m:.{digits}g} ± {s:.2g}" if len(values) > 1 else f"{m:.{digits}g}"


def bar(total: int, name: str, enabled: bool, unit: str = "run"):
    """The progress bar of reproduction ``name`` (labelled with it; plain text without tqdm)."""
    from proxgan.apps.progress import progress_bar

    return progress_bar(total, name, enabled, leave=True, unit=unit)


def rst_to_md(text: str) -> str:
    """Docstring prose to Markdown: ``:math:`x` `` becomes ``$x$``, double backquotes single, ``.. math::`` blocks ``$$``."""
    text = re.sub(r":math:`([^`]*)`", r"$\1$", text)
    text = re.sub(r"\.\. math::\n\n((?:    .*\n?)+)", lambda m: "$$" + " ".join(
        line.strip() for line in m.group(1).splitlines()) + "$$\n", text)
    return text.replace("``", "`")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """What made the numbers: CPU model and cores, torch version and threads, GPU if any."""
    info = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def machine_line(info: dict[str, Any] | None = None) -> str:
    info = info or machine_info()
    gpu = f", GPU {info['gpu']}" if "gpu" in info else ", no GPU"
    return (f"{info['cpu']} ({info['cores']} cores, torch {info['torch']} with {info['threads']} threads{gpu}), "
            f"{info['date']}")


@dataclass
class Table:
    """A result table: column names, rows of cells, and notes printed under it."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: Any) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"row has {len(cells)} cells, table has {len(self.columns)} columns")
        self.rows.append(list(cells))

    def markdown(self) -> str:
        def fmt(v: Any) -> str:
            if isinstance(v, float):
                if v != v:
                    return "n/a"
                return f"{v:.4g}"
            return str(v)

        lines = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |",
                 "|" + "---|" * len(self.columns)]
        lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def write_table(out_dir: str | os.PathLike, name: str, tables: list[Table], command: str | None = None,
                preamble: str = "", quick: bool = False) -> dict[str, Path]:
    """Write ``name.md`` (all tables) and one CSV per table into ``out_dir``.

    The Markdown file starts with the command and the machine that made it; for a
    ``quick`` run its title and first line say that it is a smoke run.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    head = [f"# {name} (smoke run, not the published table)" if quick else f"# {name}", ""]
    if quick:
        head += [SMOKE_NOTE, ""]
    head.append(f"Machine: {machine_line()}.")
    if command:
        head.append(f"Command: `{command}`.")
    if preamble:
        head += ["", rst_to_md(preamble).strip()]
    md = "\n".join(head) + "\n\n" + "\n".join(t.markdown() for t in tables)
    paths = {"md": out / f"{name}.md"}
    paths["md"].write_text(md)
    for i, t in enumerate(tables):
        p = out / (f"{name}.csv" if len(tables) == 1 else f"{name}_{i + 1}.csv")
        with p.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(t.columns)
            w.writerows(t.rows)
        paths[f"csv{i}"] = p
    return paths


def seeds_and_command(name: str, seeds: int | None, quick: bool, **flags: Any) -> tuple[int, str]:
    """The number of seeds (default 3; 1 for a quick run) and the command line that reproduces the table.

    ``flags`` are the other options that differ from their defaults (``None`` ones are left out).
    """
    default = 1 if quick else 3
    seeds = default if seeds is None else seeds
    if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
        raise ValueError(f"seeds must be an int >= 1, got {seeds!r}")
    parts = [f"proxgan reproduce {name}"] + (["--quick"] if quick else [])
    parts += [f"--{k.replace('_', '-')} {v}" for k, v in flags.items() if v is not None]
    parts += [f"--seeds {seeds}"] if seeds != default else []
    return seeds, " ".join(parts)


def note_partial(table: Table, done: int, total: int) -> None:
    """Say under ``table`` how many of its runs have finished, when not all have (a long run's partial table)."""
    if done < total:
        table.notes.append(f"Partial: {done} of {total} runs finished so far (the column 'seeds' says how "
                           "many each row averages).")


def run_many(fn: Any, items: Sequence[Any], jobs: int = 1, progress: Any = None,
             on_result: Any = None) -> list[Any]:
    """``[fn(item) for item in items]``, in ``jobs`` worker processes when ``jobs > 1``; results in input order.

    Each training run is seeded by its configuration alone, so the results do not depend
    on ``jobs``. As each run finishes, ``progress.update()`` and ``on_result(index, result)``
    are called (a long reproduction writes its partial table there).
    """
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"jobs must be an int >= 1, got {jobs!r}")

    def finished(i: int, result: Any) -> None:
        if progress is not None:
            progress.update()
        if on_result is not None:
            on_result(i, result)

    if jobs == 1:
        out = []
        for i, item in enumerate(items):
            out.append(fn(item))
            finished(i, out[-1])
        return out
    import concurrent.futures as cf
    import multiprocessing as mp

    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as ex:
        futures = {ex.submit(fn, item): i for i, item in enumerate(items)}
        for f in cf.as_completed(futures):
            finished(futures[f], f.result())
        return [f.result() for f in sorted(futures, key=futures.get)]


def tidy_log_axis(ax: Any, which: str = "x") -> None:
    """Widen a log axis to whole decades (at least two labelled ticks) and leave minor ticks unlabelled.

    Data that span less than a decade otherwise get labels on crowded minor ticks that overlap.
    """
    import math

    if isinstance(ax, _NoFigure):
        return
    from matplotlib.ticker import LogLocator, NullFormatter

    axis = ax.xaxis if which == "x" else ax.yaxis
    lo, hi = ax.get_xlim() if which == "x" else ax.get_ylim()
    if not 0 < lo < hi:
        return  # not a log axis with data
    lo, hi = 10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi))
    hi = max(hi, 10 * lo)
    (ax.set_xlim if which == "x" else ax.set_ylim)(lo, hi)
    axis.set_major_locator(LogLocator(base=10, numticks=6))
    axis.set_minor_formatter(NullFormatter())


class _NoFigure:
    """Stands in for a figure and its axes when matplotlib is missing: every call does nothing."""

    def __getattr__(self, name: str) -> "_NoFigure":
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> "_NoFigure":
        return self

    def __getitem__(self, key: Any) -> "_NoFigure":
        return self

    def __iter__(self) -> Iterator["_NoFigure"]:
        import itertools

        return itertools.repeat(self)


def new_figure(*args: Any, **kwargs: Any):
    """``matplotlib.pyplot.subplots`` on the Agg backend (no display needed), or stand-ins without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        from proxgan.apps.progress import note_plots_skipped

        note_plots_skipped()
        return _NoFigure(), _NoFigure()
    return plt.subplots(*args, **kwargs)


SMOKE_MARK = "SMOKE RUN (--quick): numbers not meaningful"


def save_figure(fig, path: str | os.PathLike, quick: bool = False) -> Path | None:
    """Save ``fig`` as a PNG at ``path`` (``None`` when matplotlib is missing and nothing was drawn).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (from :func:`new_figure`).
    path : str or os.PathLike
        The PNG file.
    quick : bool
        A smoke run: the figure is stamped with :data:`SMOKE_MARK` across it.
    """
    if isinstance(fig, _NoFigure):
        return None
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    if quick:
        fig.text(0.5, 0.5, SMOKE_MARK, ha="center", va="center", rotation=20, fontsize=18, color="red", alpha=0.35,
                 transform=fig.transFigure, zorder=10)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
