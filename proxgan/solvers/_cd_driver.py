r"""The one working-set coordinate-descent driver (numba), shared by every datafit.

Solves :math:`\min_w f(w) + \sum_j g_j(w_j)` with :math:`g_j` a separable penalty given
per coordinate as ``(code, P)`` (:mod:`proxgan.solvers._prox1d`: its 1-D prox, value and
generalised support) for the first ``P.shape[1]`` coordinates; coordinates beyond them (a
logistic intercept) are free. The datafit is a *state*: a ``NamedTuple`` of arrays (the data and what the
updates keep up to date: a residual, a gradient, scores). Each datafit module registers, with
:func:`numba.extending.overload`, its implementation of the six hooks below for its state type;
numba then compiles :func:`ws_cd` once per state type and caches it on disk (the state type is
part of the signature).

Hooks (``st``: the state, ``w``: the coefficients, ``idx`` / ``ws``: coordinate indices):

* ``cd_refresh(st, w)``: recompute the kept quantities from ``w`` (no drift), once per outer iteration;
* ``cd_scores(st, w, idx, code, P, out)``: ``out[t]`` = fixed-point violation
  :math:`L_j|w_j - \operatorname{prox}_{g_j/L_j}(w_j - \nabla_j f/L_j)|` of coordinate ``j = idx[t]``
  (gradient units; zero exactly at a minimiser); the driver takes the largest (:func:`largest`);
* ``cd_criterion(st, w, l1, l2, positive, use_gap, max_score)``: the stopping criterion (the duality
  gap where the datafit has one and ``use_gap``, for the penalty :math:`l1_j|w_j| + \tfrac12 l2_j w_j^2`
  (:func:`proxgan.solvers._prox1d.enet_rows`), else ``max_score``), right after scoring every coordinate;
* ``cd_epoch(st, w, ws, code, P)``: one cyclic pass of coordinate updates (exact minimisation
  or proximal-gradient step) over ``ws``, keeping the state up to date;
* ``cd_move(st, j, d)``: update the state for :math:`w_j \mathrel{+}= d`;
* ``cd_value(st, w)``: the datafit :math:`f(w)` from the state; ``cd_save(st)`` / ``cd_restore(st, saved)``:
  copy / put back the mutable part of the state (to try an extrapolated point).

The loops over coordinates live in the hooks (each unpacks the state once and calls a compiled
kernel on plain arrays): reading a state field inside a per-coordinate loop makes numba count
references to it at every access, which tripled the cost of an epoch on small columns.

Algorithm (skglm's recipe): an outer iteration refreshes the state, scores every coordinate and
stops when the criterion is ``<= tol`` (or every score is 0); the working set is the
``max(p0, 2·nnz)`` best-scored coordinates (the generalised support and free coordinates always in); the inner
loop runs cyclic coordinate updates on it, every ``K + 1`` epochs tries the Anderson extrapolation
of the last ``K + 1`` iterates (kept only if it is feasible and lowers the objective restricted to
the working set), and every 10 epochs scores the working set and leaves when its largest score is
below 0.3 × the outer one (:func:`inner_done`: for a non-convex penalty, 0.03 × while the inner solve is
cheap); a state class whose ``EARLY_CHECKS`` attribute is true
(:func:`cd_early_checks`) is also checked after epochs 3 and 6 (at most :data:`MAX_EPOCHS` epochs),
for a convex penalty only on the working sets where that pays (:func:`_early_pays`).
For a non-convex penalty (:data:`SHRINK_CODES`), the epochs after such a check skip the
working-set coordinates that it found at zero with a zero score (outside the generalised support,
where the prox maps them to zero again): they cost a gradient each per epoch and do not move, and
the next check, which scores the whole working set, brings back any that the other updates made
violate again; the outer check scores every coordinate, so the stopping rule is unchanged (glmnet's
active-set cycling inside skglm's working set). An outer iteration that leaves every coordinate
unchanged (``tol`` below the rounding floor) ends the solve, since every later one would repeat it. Without working sets the working set is every coordinate.

``max_iter`` bounds the **outer** iterations (scikit-learn's and benchopt's meaning of an
iteration: one check of the criterion followed by one working-set solve). Every epoch and every
accepted extrapolation lowers the objective (exact coordinate minimisation or a
Lipschitz-step proximal-gradient update never raises it), so running more outer iterations never
gives a higher objective; the criterion is evaluated once more after the last one, so the
returned ``crit`` always describes the returned ``w``.

The per-datafit modules (:mod:`~proxgan.solvers._cd_kernels`, :mod:`~proxgan.solvers._cd_gram`,
:mod:`~proxgan.solvers._cd_logistic`) hold the hooks; :mod:`proxgan.solvers.fista` is the readable
reference the tests compare against. Numba's disk cache of a function is only invalidated when
its own file changes, while :func:`ws_cd` compiles the hooks (and the kernels they call) into
itself: it is therefore built by a factory whose closure holds a hash of every ``_cd_*.py``,
``_prox1d.py`` and ``proxgan/kernels/_prox_cpu.py`` source, which numba puts in the cache key, so that editing a hook recompiles it.
"""
from __future__ import annotations

import hashlib
import pathlib

import numpy as np
from numba import njit, types
from numba.extending import overload

from proxgan.solvers._cd_loops import anderson, code_in, top_k
from proxgan.solvers._first_call import first_call
from proxgan.kernels.fused_penalty import Code
from proxgan.solvers._prox1d import in_support1d, value1d

__all__ = ["ws_cd", "MAX_EPOCHS", "SHRINK_CODES", "INNER_TOL", "INNER_TIGHT", "inner_done", "anderson", "largest",
           "top_k", "is_state", "HOOK_JIT",
           "cd_refresh", "cd_scores", "cd_criterion", "cd_epoch", "cd_move", "cd_value", "cd_save", "cd_restore",
           "cd_early_checks"]


#: jit options of the hooks: compiled into the driver and cached with it only. Not cached on their
#: own: numba would key such a cache on the hook's file alone, and a hook loaded from it keeps the
#: old code of every function it calls from another file (an edit of ``_cd_screen.py`` or
#: ``_prox1d.py`` was not seen by the quadratic hooks until ``_cd_kernels.py`` changed)
HOOK_JIT = {"cache": False, "nogil": True}


def is_state(st, cls) -> bool:
    """In an overload: is the numba type ``st`` the state ``NamedTuple`` class ``cls``?"""
    return isinstance(st, types.BaseNamedTuple) and st.instance_class is cls


def _hook(name):
    def stub(*args):
        raise NotImplementedError(f"{name} has no implementation for this datafit state")
    stub.__name__ = stub.__qualname__ = name
    return stub


cd_refresh = _hook("cd_refresh")
cd_scores = _hook("cd_scores")
cd_criterion = _hook("cd_criterion")
cd_epoch = _hook("cd_epoch")
cd_move = _hook("cd_move")
cd_value = _hook("cd_value")
cd_save = _hook("cd_save")
cd_restore = _hook("cd_restore")
cd_early_checks = _hook("cd_early_checks")


@overload(cd_early_checks, jit_options=HOOK_JIT)
def _early_checks(st):
    """Whether the inner loop also checks its working set after epochs 3 and 6: the ``EARLY_CHECKS``
    class attribute of the state (a compile-time constant; False when absent). The quadratic
    datafit sets it: a well-conditioned working set is often solved in a few epochs, and ten took
    up to half the time of a 500 x 600 Lasso; the logistic CD was 15-25% slower with it."""
    flag = bool(getattr(getattr(st, "instance_class", None), "EARLY_CHECKS", False))

    def impl(st):
        return flag
    return impl


@njit(cache=True, nogil=True)
def largest(scores):
    """The largest of the scores written by ``cd_scores`` (0 for none; a NaN never counts)."""
    best = 0.0
    for sc in scores:
        if sc > best:
            best = sc
    return best


@njit(cache=True, nogil=True)
def _objective_ws(st, w, ws, code, P):
    """Datafit plus the penalty restricted to the working set (what extrapolation must lower)."""
    val = cd_value(st, w)
    for j in ws:
        if j < P.shape[1]:
            val += value1d(w[j], code, P, j)
    return val


@njit(cache=True, nogil=True)
def _try_extrapolation(st, w, ws, w_acc, code, P):
    """Move to the extrapolated point ``w_acc`` (on ``ws``) if it is feasible and lowers the objective."""
    p = P.shape[1]
    for t in range(ws.shape[0]):
        j = ws[t]
        if j < p and (w_acc[t] < P[2, j] or w_acc[t] > P[3, j]):
            return
    f_cur = _objective_ws(st, w, ws, code, P)
    saved = cd_save(st)
    w_old = w[ws].copy()
    for t in range(ws.shape[0]):
        d = w_acc[t] - w[ws[t]]
        if d != 0.0:
            cd_move(st, ws[t], d)
            w[ws[t]] = w_acc[t]
    if not _objective_ws(st, w, ws, code, P) < f_cur:
        cd_restore(st, saved)
        for t in range(ws.shape[0]):
            w[ws[t]] = w_old[t]


#: Codes of the non-convex penalties whose inner epochs skip the coordinates a check found settled at 0.
SHRINK_CODES = (int(Code.L0), int(Code.MCP), int(Code.SCAD), int(Code.LOGSUM), int(Code.LQ12), int(Code.LQ23))


@njit(cache=True, nogil=True)
def _shrinks(code):
    """Whether the inner epochs for penalty ``code`` skip settled zeros (module docstring)."""
    return code_in(code, SHRINK_CODES)


@njit(cache=True, nogil=True)
def _unsettled(w, ws, ws_scores, code, P):
    """The coordinates of ``ws`` that the next epochs update: free ones, those in the generalised
    support, and those whose score (``ws_scores``, aligned with ``ws``) is not 0."""
    p = P.shape[1]
    keep = np.empty(ws.shape[0], dtype=ws.dtype)
    m = 0
    for t in range(ws.shape[0]):
        j = ws[t]
        if j >= p or ws_scores[t] != 0.0 or in_support1d(w[j], code, P, j):
            keep[m] = j
            m += 1
    return keep[:m]


@njit(cache=True, nogil=True)
def _early_pays(ws_size, q):
    """Whether the checks after epochs 3 and 6 (:func:`cd_early_checks`) are made on a working set of
    ``ws_size`` of the ``q`` coordinates, for a convex penalty (a non-convex one, :data:`SHRINK_CODES`,
    is checked on every working set): only on a strict subset (``ws_size < q``) whose 7 epochs saved
    by an early exit read at least as many columns as the outer iteration that exit may add
    (``7·ws_size >= q``). On the whole problem (a dense Lasso solution) the checks seldom end the
    inner solve and cost a pass each; on a working set much smaller than ``X`` an early exit cost
    more outer passes over ``X`` than it saved (Toeplitz 500 x 600 and 100 x 10000 Lasso problems
    at ``alpha_max/100``: 4-19% more columns read than without the checks); the small benchopt
    500 x 600 fits at ``0.1·alpha_max`` keep most of their gain (7.9k -> 8.9k columns read, 13.3k
    without the checks)."""
    return ws_size < q and 7 * ws_size >= q


#: The inner solve on a working set ends when its largest score is at most this fraction of the
#: outer criterion (skglm's rule) ...
INNER_TOL = 0.3
#: ... or, for a non-convex penalty, at most this fraction, while it has cost less than one outer check.
INNER_TIGHT = 0.03


@njit(cache=True, nogil=True)
def inner_done(ws_max, max_sc, spent, q, nonconvex):
    """Whether the inner solve may stop: its working set's largest score is ``ws_max``, the outer
    criterion was ``max_sc``, and its epochs and checks have so far updated or scored ``spent``
    coordinates (one outer check scores all ``q``).

    skglm's rule, kept for convex penalties: ``ws_max <= INNER_TOL·max_sc``. For a non-convex penalty
    (``nonconvex``, :data:`SHRINK_CODES`) the inner solve goes on to ``INNER_TIGHT·max_sc`` as long as
    it has cost less than one outer check (``spent < q``), and stops at skglm's level after that.
    Where the working set is a small part of the problem (p >> n: 200 of 20,000 coordinates), an
    epoch costs about 1% of an outer check, and the outer checks took nearly all the time: an inner
    solve stopped at skglm's level let the coordinates it had moved make others, outside the working
    set, violate again, and the outer loop needed 18-20 iterations on the 200 x 20,000 problem L3 of
    ``bench/PROTOCOL.md`` (MCP and SCAD, seeds 0-2), 11-16 with the tighter target. The budget of one
    outer check bounds what the tighter target can cost where epochs are not cheap (a working set
    that is most of the problem, an inner problem that converges slowly).

    Variants measured against it (column reads and CPU time to a fixed-point violation of
    3.2e-6·alpha_max; MCP and SCAD on the problems of ``bench/PROTOCOL.md`` drawn with other seeds):
    on L1, L3 and L5 over seeds 0-9, ``INNER_TIGHT`` 0.01 (geometric mean of the reads -15% to +1% per
    problem) and Anderson depth 5 (-3% to +37%); on L1-L5 over seeds 0-2, ``INNER_TIGHT`` 0.05, a
    budget of ``q/2`` or ``2q`` (geometric means of the time within 10%) and working sets of 1.5 x the
    support (+18%); on L2 and L4 over seeds 0-9, carrying on to 0.3·``tol`` an inner solve that met
    its target at the first check (-17% to 0%, but +18% on seed 0 of L2). Single fits moved by x0.5
    to x2 either way, with a sign that changes from seed to seed (from zero these solvers reach
    different critical points), so none replaced the rule."""
    if ws_max <= INNER_TIGHT * max_sc:
        return True
    return ws_max <= INNER_TOL * max_sc and (not nonconvex or spent >= q)


def _sources_stamp() -> str:
    """Hash of the sources compiled into :func:`ws_cd` (this file, the hooks, the 1-D prox)."""
    here = pathlib.Path(__file__).resolve().parent
    h = hashlib.sha1()
    for f in sorted(here.glob("_cd_*.py")) + [here / "_prox1d.py", here.parent / "kernels" / "_prox_cpu.py"]:
        h.update(f.read_bytes())
    return h.hexdigest()


#: Most epochs of one inner solve (on one working set) before the next outer iteration.
MAX_EPOCHS = 1000


def _make_driver(stamp: str):
    @njit(cache=True, nogil=True)
    def ws_cd(st, w, code, P, l1, l2, use_gap, positive, tol, max_iter, p0, use_ws, K):
        """Working-set coordinate descent with Anderson extrapolation on the datafit state ``st``
        (module docstring); ``w`` and the state are updated in place.

        ``max_iter`` bounds the outer iterations. Returns ``(crit, n_outer, converged)``: the
        criterion at the returned ``w``, the number of outer iterations run (working-set solves: 0
        when the start already meets ``tol``, as scikit-learn, which checks the gap first) and
        whether ``crit <= tol``.
        """
        if len(stamp) == 0:  # the stamp is in the closure (hence in the cache key); never empty
            return np.inf, 0, False
        q = w.shape[0]
        p = P.shape[1]
        early = cd_early_checks(st)
        every = np.arange(q)
        scores = np.empty(q)
        crit = np.inf
        n_outer = 0
        nonconvex = _shrinks(code)
        shrink = use_ws and nonconvex
        for _outer in range(max_iter + 1):
            cd_refresh(st, w)
            cd_scores(st, w, every, code, P, scores)
            max_sc = largest(scores)
            crit = cd_criterion(st, w, l1, l2, positive, use_gap, max_sc)
            if crit <= tol or max_sc == 0.0:
                return crit, n_outer, True
            if n_outer == max_iter:  # the check after the last inner solve: ``crit`` describes ``w``
                break
            n_outer += 1
            nnz = 0
            for j in range(q):
                if j >= p or in_support1d(w[j], code, P, j):
                    nnz += 1
            ws_size = min(q, max(p0, 2 * nnz)) if use_ws else q
            if ws_size < q:
                for j in range(q):
                    if j >= p or in_support1d(w[j], code, P, j):
                        scores[j] = np.inf
                ws = top_k(scores, ws_size)
            else:
                ws = np.arange(q)
            early_ws = early and (nonconvex or _early_pays(ws_size, q))
            w_before = w[ws]
            last = np.empty((K + 1, ws_size))
            ws_scores = np.empty(ws_size)
            n_last = 0
            sub = ws  # the coordinates the epochs update (ws, or its unsettled part after a check)
            spent = 0  # coordinates updated or scored by this inner solve (:func:`inner_done`)
            for epoch in range(1, MAX_EPOCHS + 1):
                cd_epoch(st, w, sub, code, P)
                spent += sub.shape[0]
                if K > 0:
                    for t in range(ws_size):
                        last[n_last, t] = w[ws[t]]
                    n_last += 1
                    if n_last == K + 1:
                        n_last = 0
                        ok, w_acc = anderson(last, K)
                        if ok:
                            _try_extrapolation(st, w, ws, w_acc, code, P)
                if epoch % 10 == 0 or (early_ws and (epoch == 3 or epoch == 6)):
                    cd_scores(st, w, ws, code, P, ws_scores)
                    spent += ws_size
                    if inner_done(largest(ws_scores), max_sc, spent, q, nonconvex):
                        break
                    if shrink:
                        sub = _unsettled(w, ws, ws_scores, code, P)
            moved = False
            for t in range(ws_size):
                if w[ws[t]] != w_before[t]:
                    moved = True
                    break
            if not moved:
                # w sits at a floating-point fixed point (tol below the rounding floor): every further
                # outer iteration would repeat this one
                cd_refresh(st, w)
                cd_scores(st, w, every, code, P, scores)
                crit = cd_criterion(st, w, l1, l2, positive, use_gap, largest(scores))
                return crit, n_outer, crit <= tol
        return crit, n_outer, False

    return ws_cd


ws_cd = first_call(_make_driver(_sources_stamp()))
