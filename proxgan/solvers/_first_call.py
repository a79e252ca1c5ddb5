r"""The first call of a compiled solver with a cold numba cache: run interpreted, compile elsewhere.

Numba compiles :func:`proxgan.solvers._cd_driver.ws_cd` and every hook and kernel it calls
the first time a datafit is solved, and caches the machine code on disk. Compiling takes
several seconds, far more than a small problem takes to solve even in pure Python. So
:func:`first_call` changes what the driver's dispatcher does when no compiled code matches
the arguments (:class:`FirstCall`; a call with compiled code costs nothing more):

1. if numba's on-disk cache has the compiled code for these argument types, it is loaded
   (without compiling) and run;
2. otherwise, for a small problem (at most :data:`SIZE_LIMIT` array elements in the
   arguments) it runs **the same source code interpreted** (:func:`interpreted`: every jitted
   callee replaced by its Python function, every ``@overload`` hook by its implementation for
   the argument types), and starts one background process that compiles the driver for
   these types into the on-disk cache, for the next calls and the next processes;
3. anything else (a larger problem, an interpreted run over its time budget, any error)
   restores the arguments and compiles here, which is numba's usual behaviour.

The interpreted run is the same algorithm with the same stopping rule and tolerance, operation
for operation; results differ from the compiled ones only by rounding (the compiled dot
products may be vectorised or fused). It is bounded by :data:`BUDGET_S` seconds per process
in total, after which the driver is compiled in the process: a session that solves many
small problems before the background compile is done loses at most that much time.

The environment variable :data:`MODE_ENV` chooses the behaviour: ``"auto"`` (the default, as
above), ``"interpret"`` (the same, without a background process) or ``"compile"`` (compile
at the first call, numba's default; the test suite uses it, so that its results never
depend on the state of the cache).
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
import types as _pytypes

import numpy as np

__all__ = ["FirstCall", "first_call", "interpreted", "MODE_ENV", "SIZE_LIMIT", "BUDGET_S", "main"]

#: environment variable: "auto" (default), "interpret" or "compile" (module docstring)
MODE_ENV = "PROXGAN_FIRST_CALL"
#: largest problem (total array elements of the arguments) run interpreted
SIZE_LIMIT = 100_000
#: seconds of interpreted runs per process before compiling in the process
BUDGET_S = 2.0
#: a background compile holds its lock file at most this long (then it is considered dead)
_LOCK_STALE_S = 600.0

_MODES = ("auto", "interpret", "compile")
_interpreted_cache: dict = {}
_interpreted_lock = threading.RLock()
_local = threading.local()
_spent = [0.0]
_spent_lock = threading.Lock()
_children: list = []


class _OverBudget(Exception):
    """Raised inside an interpreted run when the time budget is used up."""


def _is_dispatcher(obj) -> bool:
    from numba.core.dispatcher import Dispatcher

    return isinstance(obj, Dispatcher)


@functools.lru_cache(maxsize=None)
def _overloads_of(func) -> tuple:
    """The typing functions registered with ``numba.extending.overload`` for ``func``."""
    from numba.core.typing.templates import builtin_registry

    found = []
    for f, fnty in builtin_registry.globals:
        if f is func:
            for tmpl in getattr(fnty, "templates", ()):
                impl = getattr(tmpl, "_overload_func", None)
                if impl is not None:
                    found.append(impl)
    return tuple(found)


class _Overloaded:
    """Python stand-in for an ``@overload``-ed stub: picks the implementation for the numba
    types of the arguments, as numba's typing does, and runs it interpreted."""

    def __init__(self, stub, typing_funcs):
        self.stub = stub
        self.typing_funcs = typing_funcs
        self.impls: dict = {}

    def __call__(self, *args):
        deadline = getattr(_local, "deadline", None)
        if deadline is not None and time.perf_counter() > deadline:
            raise _OverBudget
        import numba

        key = tuple(numba.typeof(a) for a in args)
        impl = self.impls.get(key)
        if impl is None:
            for typing_func in self.typing_funcs:
                got = typing_func(*key)
                if got is not None:
                    impl = interpreted(got)
                    break
            else:
                raise NotImplementedError(f"{self.stub.__name__} has no implementation for {key}")
            self.impls[key] = impl
        return impl(*args)


def _python_value(value):
    """What a global (or closure variable) of a jitted function is when it runs interpreted."""
    if _is_dispatcher(value):
        return interpreted(value)
    if isinstance(value, _pytypes.FunctionType) and (value.__module__ or "").startswith("proxgan"):
        typing_funcs = _overloads_of(value)
        if typing_funcs:
            return _Overloaded(value, typing_funcs)
    return value


def interpreted(fn):
    """The pure-Python twin of the numba function ``fn`` (a dispatcher or its Python function).

    The same code object, run by the interpreter, with its globals and closure variables
    mapped: jitted functions to their interpreted twins (recursively), ``@overload``-ed proxgan
    stubs to a dispatch on their implementations. Made once per function.

    Parameters
    ----------
    fn : numba dispatcher or function
        The function to run interpreted.

    Returns
    -------
    function
    """
    py = fn.py_func if _is_dispatcher(fn) else fn
    with _interpreted_lock:  # a twin is published complete to other threads
        return _interpreted_cache.get(py) or _make_twin(py)


def _make_twin(py):
    glb: dict = {}
    closure = None
    if py.__closure__ is not None:
        closure = tuple(_pytypes.CellType() for _ in py.__closure__)
    twin = _pytypes.FunctionType(py.__code__, glb, py.__name__, py.__defaults__, closure)
    _interpreted_cache[py] = twin  # before mapping the globals: recursion ends here
    for name in _global_names(py.__code__):
        if name in py.__globals__:
            glb[name] = _python_value(py.__globals__[name])
    glb["__builtins__"] = py.__globals__.get("__builtins__", __builtins__)
    glb["__name__"] = py.__globals__.get("__name__")
    if closure is not None:
        for cell, old in zip(closure, py.__closure__):
            cell.cell_contents = _python_value(old.cell_contents)
    return twin


def _global_names(code) -> set:
    """Names a code object (and the code nested in it) may read as globals."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, _pytypes.CodeType):
            names |= _global_names(const)
    return names


def _arrays(obj, out: list) -> list:
    """Every ndarray in ``obj`` (arrays, and tuples / named tuples of them, nested)."""
    if isinstance(obj, np.ndarray):
        out.append(obj)
    elif isinstance(obj, tuple):
        for item in obj:
            _arrays(item, out)
    return out


def _mode() -> str:
    mode = os.environ.get(MODE_ENV, "auto").strip().lower() or "auto"
    if mode not in _MODES:
        raise ValueError(f"{MODE_ENV} must be one of {', '.join(_MODES)}, got {mode!r}")
    return mode


def _load_cached(disp, sig) -> bool | None:
    """Load the compiled code for ``sig`` from numba's disk cache without compiling: True if it is
    now in memory, False if the cache has none, None if numba's internals are not as expected."""
    try:
        from numba.core.compiler_lock import global_compiler_lock

        with global_compiler_lock:
            if sig in disp.overloads:
                return True
            cres = disp._cache.load_overload(sig, disp.targetctx)
            if cres is None:
                return False
            if not cres.objectmode:
                disp.targetctx.insert_user_function(cres.entry_point, cres.fndesc, [cres.library])
            disp.add_overload(cres)
            return True
    except Exception:  # noqa: BLE001 - another numba layout: behave as numba does
        return None


class FirstCall:
    """What a cached numba dispatcher does when no compiled code matches its arguments (module
    docstring): installed by :func:`first_call` as the dispatcher's ``_compile_for_args``, which
    numba calls only then, so calls with compiled code never reach it.

    Parameters
    ----------
    dispatcher : numba dispatcher
        A ``@njit(cache=True)`` function, reachable as ``getattr(module, py_func.__name__)``
        from its module (the background process finds it there).
    """

    def __init__(self, dispatcher):
        self.dispatcher = dispatcher
        self.compile_for_args = dispatcher._compile_for_args  # numba's own: compile (or load) here
        self._started: set = set()
        self._lock = threading.Lock()

    def compiled(self, sig) -> bool | None:
        """Whether compiled code for ``sig`` is in memory or could be loaded from the disk cache
        (``None``: numba's internals are not as expected)."""
        return True if sig in self.dispatcher.overloads else _load_cached(self.dispatcher, sig)

    def __call__(self, *args, **kws):
        """The callable to run for ``args``: numba's compiled entry point, or an interpreted run."""
        disp = self.dispatcher
        mode = _mode()
        if mode == "compile" or _spent[0] >= BUDGET_S or kws:
            return self.compile_for_args(*args, **kws)
        try:
            sig = tuple(disp.typeof_pyval(a) for a in args)
        except Exception:  # noqa: BLE001 - let numba report it
            return self.compile_for_args(*args)
        arrays = _arrays(args, [])
        if self.compiled(sig) is not False or sum(a.size for a in arrays) > SIZE_LIMIT:
            return self.compile_for_args(*args)
        if mode == "auto":
            self._compile_in_background(sig)
        return functools.partial(self._interpret, arrays)

    def _interpret(self, arrays, *args):
        """Run interpreted within the budget; otherwise restore ``arrays`` and run compiled."""
        saved = [(a, a.copy()) for a in arrays if a.flags.writeable]
        t0 = time.perf_counter()
        _local.deadline = t0 + max(BUDGET_S - _spent[0], 0.0)
        try:
            with np.errstate(divide="raise", invalid="raise", over="raise", under="ignore"):
                return interpreted(self.dispatcher)(*args)
        except Exception:  # noqa: BLE001 - over budget, or a case the compiled code handles its own way
            for a, copy in saved:
                a[...] = copy
        finally:
            _local.deadline = None
            with _spent_lock:
                _spent[0] += time.perf_counter() - t0
        return self.compile_for_args(*args)(*args)

    def _compile_in_background(self, sig) -> None:
        """Start one process (per signature and cache directory, across processes) that compiles
        ``sig`` into numba's disk cache."""
        disp = self.dispatcher
        with self._lock:
            if sig in self._started:
                return
            self._started.add(sig)
        try:
            payload = pickle.dumps((disp.py_func.__module__, disp.py_func.__name__, sig))
            key = hashlib.sha1(payload + repr((os.environ.get("NUMBA_CACHE_DIR"), sys.executable,
                                               disp.py_func.__code__.co_filename)).encode()).hexdigest()[:16]
            lock = os.path.join(tempfile.gettempdir(), f"proxgan-compile-{key}.lock")
            try:
                if time.time() - os.path.getmtime(lock) < _LOCK_STALE_S:
                    return  # another process is compiling it
            except OSError:
                pass
            with open(lock, "w") as fh:
                fh.write(str(os.getpid()))
            env = dict(os.environ, **{MODE_ENV: "compile"})
            for done in [c for c in _children if c.poll() is not None]:
                _children.remove(done)
            child = subprocess.Popen([sys.executable, "-m", __name__, lock], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                                     start_new_session=True, close_fds=True)
            child.stdin.write(payload)
            child.stdin.close()
            _children.append(child)
        except Exception:  # noqa: BLE001 - no background process: the next calls compile here
            return


def first_call(dispatcher):
    """Install :class:`FirstCall` on a cached numba dispatcher and return the dispatcher
    (anything else, e.g. a plain function under ``NUMBA_DISABLE_JIT``, is returned as it is).

    Parameters
    ----------
    dispatcher : numba dispatcher or function
        The compiled entry point.

    Returns
    -------
    The argument.
    """
    if _is_dispatcher(dispatcher) and not isinstance(getattr(dispatcher, "_compile_for_args"), FirstCall):
        dispatcher._compile_for_args = FirstCall(dispatcher)
    return dispatcher


def main(argv=None) -> int:
    """Background compile: read ``(module, name, signature)`` (pickled) from stdin, compile
    ``getattr(module, name)`` for that signature into numba's disk cache, remove the lock file
    given as the only argument."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        try:
            os.nice(10)
        except (AttributeError, OSError):
            pass
        module, name, sig = pickle.loads(sys.stdin.buffer.read())
        getattr(importlib.import_module(module), name).compile(sig)
        return 0
    finally:
        if argv:
            try:
                os.remove(argv[0])
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main())
