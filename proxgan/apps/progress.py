"""Progress bars that work with or without tqdm, and the one-line note when plots are skipped.

tqdm and matplotlib are optional (the ``apps`` extra). Without tqdm, :func:`progress_bar`
prints plain-text lines (``name: 3/10``, at most about ten per bar) to stderr; without
matplotlib the plots are skipped and :func:`note_plots_skipped` says so once per process.

Examples
--------
>>> from proxgan.apps.progress import progress_bar
>>> bar = progress_bar(3, "demo", enabled=False)
>>> bar.update(); bar.close()
"""
from __future__ import annotations

import sys
from typing import Any, TextIO

__all__ = ["progress_bar", "PlainBar", "NullBar", "note_plots_skipped", "MATPLOTLIB_HINT"]

MATPLOTLIB_HINT = "pip install 'proxgan[apps]'"
_noted: set[str] = set()


class NullBar:
    """A progress bar that shows nothing."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass


class PlainBar(NullBar):
    """Plain-text progress: ``desc: done/total`` lines, about every tenth of the way, on ``file``.

    Parameters
    ----------
    total : int
        Number of steps.
    desc : str
        Label of the lines.
    file : file-like, optional
        Where to write (default: stderr).
    """

    def __init__(self, total: int, desc: str, file: TextIO | None = None) -> None:
        self.total, self.desc, self.n = max(int(total), 0), desc, 0
        self.file = file or sys.stderr
        self._every = max(1, self.total // 10)
        self._postfix = ""

    def update(self, n: int = 1) -> None:
        before, self.n = self.n, self.n + n
        if self.n // self._every > before // self._every or self.n == self.total:
            print(f"{self.desc}: {self.n}/{self.total}{self._postfix}", file=self.file, flush=True)

    def set_postfix(self, **kwargs: Any) -> None:
        self._postfix = " (" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")" if kwargs else ""


def progress_bar(total: int, desc: str, enabled: bool = True, *, leave: bool = False, unit: str = "it"):
    """A tqdm bar if tqdm is installed, else a :class:`PlainBar`; a :class:`NullBar` when not ``enabled``.

    Parameters
    ----------
    total : int
        Number of steps.
    desc : str
        Label of the bar.
    enabled : bool
        False gives a bar that shows nothing.
    leave : bool
        Keep the finished tqdm bar on screen.
    unit : str
        Unit shown by tqdm.
    """
    if not enabled:
        return NullBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return PlainBar(total, desc)
    return tqdm(total=total, desc=desc, leave=leave, unit=unit, dynamic_ncols=True)


def note_plots_skipped(why: str = f"matplotlib is not installed ({MATPLOTLIB_HINT})") -> None:
    """Print ``plots skipped: WHY`` on stderr, once per process and reason.

    Parameters
    ----------
    why : str
        The reason printed.
    """
    if why not in _noted:
        _noted.add(why)
        print(f"plots skipped: {why}", file=sys.stderr)
