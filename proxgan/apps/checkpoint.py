"""Atomic checkpoints, random-number-generator states, Ctrl-C handling and the non-finite-loss stop.

A checkpoint is one ``torch.save`` file written to a temporary name in the same folder
and moved into place with :func:`os.replace`, so a crash never leaves a half-written
file. It holds whatever the trainer puts in it (model and optimizer state dicts, the
position in the run, the metrics so far) plus :func:`rng_state`.

Checkpoints are read with ``torch.load(weights_only=False)`` because they hold NumPy's
and Python's generator states: load only checkpoints you wrote yourself.

Examples
--------
>>> import tempfile, os, torch
>>> from proxgan.apps.checkpoint import save_checkpoint, load_checkpoint
>>> path = os.path.join(tempfile.mkdtemp(), "ck.pt")
>>> save_checkpoint(path, {"w": torch.ones(2)})
>>> load_checkpoint(path)["w"]
tensor([1., 1.])
"""
from __future__ import annotations

import math
import os
import random
import signal
import tempfile
import threading
from typing import Any

import numpy as np
import torch

__all__ = ["save_checkpoint", "load_checkpoint", "CheckpointError", "make_out_dir", "new_run_dir", "check_out_dir", "rng_state", "set_rng_state",
           "NonFiniteLossError", "check_finite", "check_resume_config", "InterruptGuard"]

#: configuration fields that may change between a run and its resumption
RESUMABLE_CHANGES = ("epochs", "resume", "progress", "plots", "out", "device", "data_root", "fid_cache", "threads")


class CheckpointError(ValueError):
    """A checkpoint exists but cannot be read; the message names the file and what to do."""


def make_out_dir(out: str | os.PathLike) -> str:
    """Create the output folder ``out`` (and its parents); ``ValueError`` naming it if that is impossible.

    Parameters
    ----------
    out : str or os.PathLike
        The folder to create.
    """
    out = os.fspath(out)
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot create the output folder {out!r}: {exc.strerror or exc}; "
                         "choose another --out") from exc
    if not os.access(out, os.W_OK):
        raise ValueError(f"the output folder {out!r} is not writable; choose another --out")
    return out


def check_out_dir(out: str | os.PathLike, *, resume: bool = False, overwrite: bool = False,
                  allow_existing: bool = False) -> str:
    """Refuse an output folder that would lose something, before any work starts.

    Parameters
    ----------
    out : str or os.PathLike
        The folder that will receive a run's files.
    resume : bool
        The run continues the one in ``out``: an existing folder is expected.
    overwrite : bool
        The caller asked to replace what ``out`` holds.
    allow_existing : bool
        A non-empty folder is fine (outputs that are meant to be rewritten, such as ``results/NAME``).

    Returns
    -------
    str
        ``out`` as a string; nothing is created (the run creates it when it starts writing).

    Raises
    ------
    ValueError
        When ``out`` is an existing file, could not be created or written, or is a non-empty
        folder and neither ``resume``, ``overwrite`` nor ``allow_existing`` is set.
    """
    out = os.fspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"the output folder {out!r} is an existing file; choose another --out")
    if os.path.isdir(out) and os.listdir(out) and not (resume or overwrite or allow_existing):
        raise ValueError(f"the output folder {out!r} already holds a run; pass --resume to continue it, "
                         "--overwrite to replace it, or choose another --out")
    base = os.path.abspath(out)
    while not os.path.exists(base):
        base = os.path.dirname(base)
    if not os.path.isdir(base) or not os.access(base, os.W_OK):
        raise ValueError(f"cannot create the output folder {out!r}: {base!r} is not a writable folder; "
                         "choose another --out")
    return out


def new_run_dir(root: str | os.PathLike) -> str:
    """Create a fresh, timestamped run folder under ``root`` and point ``root/latest`` at it.

    Parameters
    ----------
    root : str or os.PathLike
        The folder of all runs of one command (``runs/cnn``).

    Returns
    -------
    str
        The new folder, ``root/YYYYmmdd-HHMMSS`` (with ``-2``, ``-3`` ... when taken).
    """
    import time

    root = make_out_dir(root)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for i in range(1, 1000):
        path = os.path.join(root, stamp if i == 1 else f"{stamp}-{i}")
        try:
            os.mkdir(path)
            break
        except FileExistsError:
            continue
    latest = os.path.join(root, "latest")
    try:
        tmp = os.path.join(root, f".latest-{os.getpid()}")
        os.symlink(os.path.basename(path), tmp)
        os.replace(tmp, latest)
    except OSError:  # no symlinks on this file system: the printed path is enough
        pass
    return path


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint was kept."""


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (temporary file in the same folder, then :func:`os.replace`).

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.
    state : dict
        What to save (anything :func:`torch.save` takes).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ckpt-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (trusted files only).

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file.
    map_location : str or torch.device
        Where tensors are loaded (as in :func:`torch.load`).

    Raises
    ------
    FileNotFoundError
        When there is no file at ``path``.
    CheckpointError
        When the file is empty, truncated, corrupted or not a checkpoint; the file is left as it is.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}: nothing to resume (run without --resume to start)")
    what = "it is empty" if os.path.getsize(path) == 0 else None
    if what is None:
        try:
            state = torch.load(path, map_location=map_location, weights_only=False)
        except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError, ... for bad files
            what = f"it is truncated or corrupted ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no detail'})"
        else:
            if isinstance(state, dict):
                return state
            what = f"it holds a {type(state).__name__}, not a checkpoint's dict"
    raise CheckpointError(f"cannot resume from {path}: {what}. The file was left untouched; move or delete it "
                          "to start afresh without --resume, or resume from a copy you kept")


def rng_state() -> dict[str, Any]:
    """The states of Python's, NumPy's, torch's CPU and (if used) CUDA generators."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the generators saved by :func:`rng_state`.

    Parameters
    ----------
    state : dict
        A dictionary returned by :func:`rng_state`.
    """
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def check_finite(value: float, what: str, where: str, checkpoint: str | None) -> None:
    """Raise :class:`NonFiniteLossError` if ``value`` is NaN or infinite.

    The message says which loss, where in the run, and which checkpoint was kept.

    Parameters
    ----------
    value : float
        The loss to check.
    what : str
        Which loss it is (named in the message).
    where : str
        Where in the run (epoch and step), for the message.
    checkpoint : str or None
        Path of the last checkpoint, if one was written.
    """
    if not math.isfinite(value):
        kept = f"the last good checkpoint is kept at {checkpoint}" if checkpoint and os.path.exists(checkpoint) else "no checkpoint was written yet"
        raise NonFiniteLossError(
            f"{what} is {value} at {where}: training stopped before the optimizer step; {kept}. "
            "Try a smaller --lr or --lam."
        )


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def check_resume_config(saved: dict[str, Any], current: dict[str, Any]) -> None:
    """Raise ``ValueError`` if a resumed run changes a setting other than :data:`RESUMABLE_CHANGES`.

    Resuming with another optimizer, penalty, seed or batch size would silently give a
    run that is neither the old one nor a new one.

    Parameters
    ----------
    saved : dict
        The configuration stored in the checkpoint.
    current : dict
        The configuration of the run that resumes it.
    """
    saved, current = _flatten(saved), _flatten(current)
    diff = [f"{k}: checkpoint {saved.get(k)!r}, now {current.get(k)!r}"
            for k in sorted(set(saved) | set(current))
            if k not in RESUMABLE_CHANGES and saved.get(k) != current.get(k)]
    if diff:
        raise ValueError("--resume with settings that differ from the checkpoint's (only epochs, device, out, threads, "
                         "progress and plots may change): " + "; ".join(diff))


class InterruptGuard:
    """Turn the first Ctrl-C (SIGINT) into a request the training loop polls.

    Inside ``with InterruptGuard() as guard:`` the first SIGINT only sets
    ``guard.requested``; the loop finishes its current step, saves a checkpoint and
    returns. A second SIGINT raises :class:`KeyboardInterrupt` at once. Outside the main
    thread the guard does nothing (signals cannot be handled there).
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def request(self) -> None:
        """Ask the loop to stop after the current step (what the first Ctrl-C does)."""
        self.requested = True

    def _handler(self, signum, frame) -> None:  # noqa: ANN001
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> "InterruptGuard":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False
