r"""Penalties :math:`g` and their proximal operators.

Every penalty has

* ``value(x)``: :math:`g(x)` as a 0-d tensor (float64 for float64 input, else float32);
* ``prox(x, step, out=None)``: :math:`\operatorname{prox}_{s g}(x) = \arg\min_y \tfrac12\lVert y-x\rVert^2 + s\,g(y)`.
  ``step`` is a number or a tensor that broadcasts to ``x``. A tensor step means the
  per-coordinate problem :math:`\arg\min_y \sum_i \frac{(y_i - x_i)^2}{2 s_i} + g(y)`
  (the prox in the metric :math:`\operatorname{diag}(1/s)`: the step of a diagonally
  preconditioned optimizer such as ProxAdam). ``out=x`` works in place;
* ``subdiff_distance(x, grad)``: the distance of :math:`-\nabla f(x)` to
  :math:`\partial g(x)`, per coordinate (per group for :class:`GroupL1`): zero exactly
  at a stationary point of :math:`f + g`;
* ``optimality(x, grad)``: the largest such distance, the stopping measure of solvers.

CUDA tensors go to the Triton kernels of :mod:`proxgan.kernels` when Triton is
installed; everything else uses the PyTorch path (:mod:`proxgan._dispatch` decides). Bad arguments raise before anything
is written.

Examples
--------
>>> import torch
>>> from proxgan.penalties import L1
>>> L1(0.5).prox(torch.tensor([-2.0, 0.3, 1.0]), step=1.0)
tensor([-1.5000,  0.0000,  0.5000])
"""
from __future__ import annotations

import math

import torch

from proxgan import kernels as _k
from proxgan._dispatch import prox_on_triton
from proxgan._group_prox import group_prox_diag
from proxgan.kernels.group_soft_threshold import group_view as _group_view
from proxgan._validation import check_float_tensor, check_nonneg_number, check_step, check_unit_interval

__all__ = ["Penalty", "L1", "L2", "ElasticNet", "GroupL1", "L0", "Box", "NonNegative", "CoupledGroupL1", "NM"]


def _acc(x: torch.Tensor) -> torch.dtype:
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def _write(y: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
    if out is None:
        return y
    return out.copy_(y)


def _check_out(x: torch.Tensor, out: torch.Tensor | None) -> None:
    if out is not None:
        check_float_tensor(out, "out")
        if out.shape != x.shape or out.dtype != x.dtype or out.device != x.device:
            raise ValueError("out must match x in shape, dtype and device")


class Penalty:
    """Base class: a proper, closed penalty with an exact prox (see the module docstring)."""

    #: True when g(x) = sum_i g_i(x_i): its prox acts coordinate by coordinate.
    separable: bool = True

    def value(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def prox(self, x: torch.Tensor, step: float | torch.Tensor = 1.0, *, out: torch.Tensor | None = None) -> torch.Tensor:
        """Return :math:`\\arg\\min_y \\tfrac12\\lVert y-x\\rVert^2 + \\text{step}\\cdot g(y)` (see subclasses)."""
        check_float_tensor(x, "x")
        step = check_step(step, x)
        _check_out(x, out)
        self._check_x(x)
        return self._prox(x, step, out)

    def subdiff_distance(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def optimality(self, x: torch.Tensor, grad: torch.Tensor) -> float:
        """Largest distance of ``-grad`` to the subdifferential of ``g`` at ``x`` (0 at a stationary point)."""
        d = self.subdiff_distance(x, grad)
        return float(d.max()) if d.numel() else 0.0

    # subclasses implement these; arguments are already checked
    def _prox(self, x, step, out):  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_x(self, x: torch.Tensor) -> None:
        pass

    def _check_grad(self, x: torch.Tensor, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        check_float_tensor(x, "x")
        check_float_tensor(grad, "grad")
        if grad.shape != x.shape:
            raise ValueError(f"grad of shape {tuple(grad.shape)} does not match x of shape {tuple(x.shape)}")
        self._check_x(x)
        cd = _acc(x)
        return x.to(cd), grad.to(cd)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        a, b = self.__dict__, other.__dict__
        if a.keys() != b.keys():
            return False
        for k in a:
            va, vb = a[k], b[k]
            if isinstance(va, torch.Tensor) or isinstance(vb, torch.Tensor):
                if not (isinstance(va, torch.Tensor) and isinstance(vb, torch.Tensor) and torch.equal(va, vb)):
                    return False
            elif va != vb:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]


class L1(Penalty):
    r"""Weighted L1 norm :math:`g(x) = \lambda \sum_i w_i |x_i|`.

    ``prox`` solves :math:`\arg\min_y \tfrac12\lVert y-x\rVert^2 + s\lambda\sum_i w_i|y_i|`:
    soft-thresholding at :math:`s_i \lambda w_i`, which sets every entry with
    :math:`|x_i| \le s_i\lambda w_i` to exactly zero.

    Parameters
    ----------
    lam : float
        Strength :math:`\lambda \ge 0`.
    weights : Tensor, optional
        Non-negative finite weights :math:`w`, broadcastable to the tensors it is applied to.
    """

    def __init__(self, lam: float, weights: torch.Tensor | None = None) -> None:
        self.lam = check_nonneg_number(lam, "lam")
        if weights is not None:
            if not isinstance(weights, torch.Tensor):
                weights = torch.as_tensor(weights)
            if weights.is_complex() or not weights.is_floating_point():
                raise TypeError(f"weights must be a real floating tensor, got {weights.dtype}")
            if weights.numel() and not bool(torch.all(torch.isfinite(weights) & (weights >= 0))):
                raise ValueError("weights must be finite and >= 0")
        self.weights = weights

    def _check_x(self, x: torch.Tensor) -> None:
        if self.weights is not None:
            try:
                ok = torch.broadcast_shapes(self.weights.shape, x.shape) == x.shape
            except RuntimeError:
                ok = False
            if not ok:
                raise ValueError(
                    f"weights of shape {tuple(self.weights.shape)} do not broadcast to x of shape {tuple(x.shape)}"
                )

    def _w(self, x: torch.Tensor) -> torch.Tensor | float:
        return 1.0 if self.weights is None else self.weights.to(device=x.device, dtype=_acc(x))

    def value(self, x: torch.Tensor) -> torch.Tensor:
        check_float_tensor(x, "x")
        self._check_x(x)
        return self.lam * (self._w(x) * x.to(_acc(x)).abs()).sum()

    def threshold(self, x: torch.Tensor, step: float | torch.Tensor) -> float | torch.Tensor:
        """The soft-threshold :math:`s\\lambda w` used by ``prox`` (a float when it is one)."""
        if self.weights is None and not isinstance(step, torch.Tensor):
            return step * self.lam
        s = step.to(_acc(x)) if isinstance(step, torch.Tensor) else step
        return torch.as_tensor(s * self.lam * self._w(x)).expand(x.shape)

    def _prox(self, x, step, out):
        thr = self.threshold(x, step)
        if prox_on_triton(x):
            return _k.soft_threshold(x, thr, out=out)
        return _k.soft_threshold_torch(x, thr, out=out)

    def subdiff_distance(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        x, grad = self._check_grad(x, grad)
        lw = self.lam * self._w(x)
        return torch.where(x != 0, (grad + lw * torch.sign(x)).abs(), (grad.abs() - lw).clamp_min(0))


class L2(Penalty):
    r"""Squared L2 norm :math:`g(x) = \tfrac12 \lambda \lVert x\rVert_2^2` (weight decay as a prox).

    ``prox`` solves :math:`\arg\min_y \tfrac12\lVert y-x\rVert^2 + \tfrac{s\lambda}{2}\lVert y\rVert^2`,
    i.e. :math:`y = x / (1 + s\lambda)`. It never produces zeros.
    """

    def __init__(self, lam: float) -> None:
        self.lam = check_nonneg_number(lam, "lam")

    def value(self, x: torch.Tensor) -> torch.Tensor:
        check_float_tensor(x, "x")
        xf = x.to(_acc(x))
        return 0.5 * self.lam * (xf * xf).sum()

    def _prox(self, x, step, out):
        s = step.to(_acc(x)) if isinstance(step, torch.Tensor) else step
        y = x.to(_acc(x)) / (1 + s * self.lam)
        return _write(y.to(x.dtype), out)

    def subdiff_distance(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        x, grad = self._check_grad(x, grad)
        return (grad + self.lam * x).abs()


class ElasticNet(Penalty):
    r"""Elastic net :math:`g(x) = \lambda\,(\rho \lVert x\rVert_1 + \tfrac12(1-\rho)\lVert x\rVert_2^2)`.

    scikit-learn's convention, with :math:`\rho` = ``l1_ratio`` in [0, 1]. ``prox`` solves
    :math:`\arg\min_y \tfrac12\lVert y-x\rVert^2 + s\,g(y)`:
    :math:`y = S_{s\lambda\rho}(x) / (1 + s\lambda(1-\rho))`.
    """

    def __init__(self, lam: float, l1_ratio: float = 0.5) -> None:
        self.lam = check_nonneg_number(lam, "lam")
        self.l1_ratio = check_unit_interval(l1_ratio, "l1_ratio")

    def value(self, x: torch.Tensor) -> torch.Tensor:
        check_float_tensor(x, "x")
        xf = x.to(_acc(x))
        return self.lam * (self.l1_ratio * xf.abs().sum() + 0.5 * (1 - self.l1_ratio) * (xf * xf).sum())

    def _prox(self, x, step, out):
        s = step.to(_acc(x)) if isinstance(step, torch.Tensor) else step
        l1 = self.lam * self.l1_ratio
        l2 = self.lam * (1 - self.l1_ratio)
        thr = s * l1 if isinstance(s, float) else (s * l1).expand(x.shape)
        soft = _k.soft_threshold(x, thr) if prox_on_triton(x) else _k.soft_threshold_torch(x, thr)
        y = soft.to(_acc(x)) / (1 + s * l2)
        return _write(y.to(x.dtype), out)

    def subdiff_distance(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        x, grad = self._check_grad(x, grad)
        l1 = self.lam * self.l1_ratio
        g2 = grad + self.lam * (1 - self.l1_ratio) * x
        return torch.where(x != 0, (g2 + l1 * torch.sign(x)).abs(), (g2.abs() - l1).clamp_min(0))


class GroupL1(Penalty):
    r"""Group lasso :math:`g(x) = \lambda \sum_g \lVert x_g \rVert_2`, one group per index along ``dim``.

    ``dim=0`` gives one group per row / output channel / conv filter; the norm runs over
    all other dimensions. With a scalar step (or one step per group) ``prox`` is group
    soft-thresholding, :math:`y_g = x_g \max(0, 1 - s\lambda/\lVert x_g\rVert)`, the exact
    :math:`\arg\min_y \tfrac12\lVert y-x\rVert^2 + s\lambda\sum_g\lVert y_g\rVert`. With a
    step that varies inside a group it solves
    :math:`\arg\min_y \sum_i (y_i-x_i)^2/(2s_i) + \lambda\sum_g\lVert y_g\rVert`, which has no
    closed form, by a safeguarded Newton root-find per group to relative accuracy 1e-12
    (see :mod:`proxgan._group_prox`).
    """

    separable = False

    def __init__(self, lam: float, dim: int = 0) -> None:
        self.lam = check_nonneg_number(lam, "lam")
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise TypeError(f"dim must be an int, got {dim!r}")
        self.dim = dim

    def _check_x(self, x: torch.Tensor) -> None:
        _group_view(x, self.dim)

    def group_norms(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`\\lVert x_g\\rVert_2` for every group (shape ``(x.shape[dim],)``)."""
        check_float_tensor(x, "x")
        _, xm = _group_view(x, self.dim)
        return torch.linalg.vector_norm(xm.to(_acc(x)), dim=1)

    def value(self, x: torch.Tensor) -> torch.Tensor:
        return self.lam * self.group_norms(x).sum()

    def _step_per_group(self, x: torch.Tensor, step: torch.Tensor) -> torch.Tensor | None:
        """The step as one value per group when its shape makes it constant inside every group
        (size 1 along every dimension but ``dim``), else None (no data-dependent test: that
        would cost a pass and a device sync on every call)."""
        dim = self.dim % x.dim()
        shape = (1,) * (x.dim() - step.dim()) + tuple(step.shape)
        if any(size != 1 for i, size in enumerate(shape) if i != dim):
            return None
        return torch.broadcast_to(step.reshape(shape), x.shape).movedim(dim, 0).reshape(x.shape[dim], -1)[:, 0] \
            if x.numel() else step.new_zeros(x.shape[dim])

    def _prox(self, x, step, out):
        if isinstance(step, torch.Tensor):
            per_group = self._step_per_group(x, step)
            if per_group is None:
                dim = self.dim % x.dim()
                _, xm = _group_view(x, dim)
                sm = torch.broadcast_to(step, x.shape).movedim(dim, 0).reshape(xm.shape)
                y2d = group_prox_diag(xm, sm, self.lam).to(x.dtype)
                moved = (x.shape[dim],) + tuple(v for i, v in enumerate(x.shape) if i != dim)
                return _write(y2d.reshape(moved).movedim(0, dim), out)
            thr = per_group.to(_acc(x)) * self.lam
        else:
            thr = step * self.lam
        if prox_on_triton(x):
            return _k.group_soft_threshold(x, thr, dim=self.dim, out=out)
        return _k.group_soft_threshold_torch(x, thr, dim=self.dim, out=out)

    def subdiff_distance(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """Per-group distance: :math:`\\lVert g_g + \\lambda x_g/\\lVert x_g\\rVert\\rVert` or
        :math:`\\max(\\lVert g_g\\rVert - \\lambda, 0)` at a zero group."""
        x, grad = self._check_grad(x, grad)
        _, xm = _group_view(x, self.dim)
        _, gm = _group_view(grad, self.dim)
        norms = torch.linalg.vector_norm(xm, dim=1)
        safe = torch.where(norms > 0, norms, torch.ones_like(norms))
        nz = torch.linalg.vector_norm(gm + self.lam * xm / safe[:, None], dim=1)
        z = (torch.linalg.vector_norm(gm, dim=1) - self.lam).clamp_min(0)
        return torch.where(norms > 0, nz, z)


class L0(Penalty):
    r""":math:`g(x) = \lambda \lVert x\rVert_0` (number of non-zeros). Non-convex.

    ``prox`` returns a minimiser of :math:`\tfrac12\lVert y-x\rVert^2 + s\lambda\lVert y\rVert_0`:
    hard-thresholding, keeping :math:`x_i` where :math:`|x_i| > \sqrt{2 s_i\lambda}` and
    zero elsewhere (at equality both are minimisers; zero is returned).
    ``subdiff_distance`` uses the limiting subdifferential: :math:`\{0\}` at
    :math:`x_i \ne 0`, all of :math:`\mathbb R` at :math:`x_i = 0`.
    """

    def __init__(self, lam: float) -> None:
        self.lam = check_nonneg_number(lam, "lam")

    def value(self, x: torch.Tensor) -> torch.Tensor:
        check_float_tensor(x, "x")
        return self.lam * torch.count_nonzero(x).to(_acc(x))

    def _prox(self, x, step, out):
        if isinstance(step, torch.Tensor):
            thr = torch.sqrt(2 * self.lam * step.to(_acc(x))).expand(x.shape)
        else:
            thr = math.sqrt(2 * self.lam * step)
        if prox_on_triton(x):
            return _k.hard_threshold(x, thr, out=out)
        return _k.hard_threshold_torch(x, thr, out=out)

    def subdiff_distance(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        x, grad = self._check_grad(x, grad)
        return torch.where(x != 0, grad.abs(), torch.zeros_like(grad))


class Box(Penalty):
    r"""Indicator of the box :math:`[lo, hi]` (0 inside, :math:`+\infty` outside).

    ``prox`` is the projection :math:`\operatorname{clip}(x, lo, hi)` for any step.
    ``lo`` may be ``-inf`` and ``hi`` ``+inf``; ``lo > hi`` is an error.
    """

    def __init__(self, lo: float = -math.inf, hi: float = math.inf) -> None:
        for name, v in (("lo", lo), ("hi", hi)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(float(v)):
                raise ValueError(f"{name} must be a number (inf allowed), got {v!r}")
        if lo > hi:
            raise ValueError(f"lo must be <= hi, got lo={lo!r} > hi={hi!r}")
        self.lo = float(lo)
        self.hi = float(hi)

    def value(self, x: torch.Tensor) -> torch.Tensor:
        check_float_tensor(x, "x")
        inside = bool(torch.all((x >= self.lo) & (x <= self.hi)))
        return torch.tensor(0.0 if inside else math.inf, dtype=_acc(x))

    def _prox(self, x, step, out):
        lo = None if self.lo == -math.inf else self.lo
        hi = None if self.hi == math.inf else self.hi
        if lo is None and hi is None:
            return _write(x.clone(), out)
        if out is None:
            return torch.clamp(x, lo, hi)
        return torch.clamp(x, lo, hi, out=out)

    def subdiff_distance(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """Distance of ``-grad`` to the normal cone of the box at ``x`` (inf outside the box)."""
        x, grad = self._check_grad(x, grad)
        at_lo = x == self.lo
        at_hi = x == self.hi
        d = grad.abs()
        d = torch.where(at_lo & ~at_hi, (-grad).clamp_min(0), d)
        d = torch.where(at_hi & ~at_lo, grad.clamp_min(0), d)
        d = torch.where(at_lo & at_hi, torch.zeros_like(d), d)
        return torch.where((x < self.lo) | (x > self.hi), torch.full_like(d, math.inf), d)


class NonNegative(Box):
    r"""Indicator of :math:`x \ge 0`; ``prox`` is :math:`\max(x, 0)`."""

    def __init__(self) -> None:
        super().__init__(0.0, math.inf)

    def __repr__(self) -> str:
        return "NonNegative()"


class CoupledGroupL1(Penalty):
    r"""Group lasso over *coupled* channel groups that span several tensors of a model.

    :math:`g = \lambda \sum_c w_c \lVert x_c\rVert_2`, where group :math:`x_c` collects every
    slice that produces channel :math:`c` (conv / linear output rows, their bias entries,
    batch-norm scale and shift) across all the layers Torch-Pruning's dependency graph
    couples to it: in a ResNet, one residual-stream channel is one group over the stem,
    every block's last convolution and their batch norms. The group weights :math:`w_c`
    are 1 (``weighting="none"``), :math:`\sqrt{|x_c|}` (``"size"``), or, built by
    :meth:`from_model` with ``weighting="flops"``, the multiply-adds of channel :math:`c`
    (its rows times the output positions of their layers) over their mean across channels:
    a channel that costs more time is cheaper to remove. The prox is exact: group
    soft-thresholding :math:`y_c = x_c\max(0, 1 - s\lambda w_c/\lVert x_c\rVert)` for a scalar
    step, the root-find of :mod:`proxgan._group_prox` under a diagonal metric (ProxAdam).
    A zero group makes its channel output exact zeros, and :func:`proxgan.prune.compact`
    removes it. Needs ``pip install 'proxgan[pruning]'`` to build (see :meth:`from_model`).

    The penalty owns its parameters (``self.params``): give them to the optimizer as one
    group with :meth:`param_groups`. The optimizers call ``_prox`` once per tensor of the
    group, in the group's order, after the smooth step of all of them; the penalty collects
    the tensors of a step and applies the joint prox at the last one (writing the earlier
    results into ``out``, or into the parameters when ``out`` is None). Every parameter of
    the group needs a gradient at every step. The direct, stateless form is
    :meth:`prox_tensors`. In an optimizer's ``state_dict`` the penalty is stored as data
    (λ, the index sets, the shapes); ``load_state_dict`` into an optimizer built with
    :meth:`param_groups` binds the restored penalty to that optimizer's parameters.

    Parameters
    ----------
    lam : float
        Strength :math:`\lambda \ge 0`.
    params : sequence of Tensor
        The tensors holding the groups' slices.
    sets : list of dict
        Groups as built by :func:`proxgan._coupled.channel_sets` (each ``{"items": [(k, idx)],
        ...}``: rows ``idx`` of ``params[k]``, row :math:`c` of ``idx`` in channel :math:`c`).
    weighting : {"none", "size", "flops"}
        Group weights :math:`w_c` (see above); ``"flops"`` needs ``set_weights``.
    set_weights : list of float, optional
        One weight per group set (all channels of a set cost the same), as computed by
        :meth:`from_model` for ``weighting="flops"``.

    Examples
    --------
    >>> import torch
    >>> from proxgan.apps.models import small_resnet
    >>> from proxgan.optim import ProxAdam
    >>> model = small_resnet(3, 10, widths=(8, 16))
    >>> pen = CoupledGroupL1.from_model(model, 1e-3, torch.zeros(1, 3, 16, 16))  # doctest: +SKIP
    >>> opt = ProxAdam(pen.param_groups(model), lr=1e-3)                           # doctest: +SKIP
    """

    separable = False
    #: the prox needs all tensors of the group at once (an optimizer may call prox_tensors
    #: once per group instead of _prox per tensor; both give the same step)
    couples_tensors = True
    __slots__ = ("params", "_pending")

    def __init__(self, lam: float, params, sets, weighting: str = "none", set_weights=None) -> None:
        self.lam = check_nonneg_number(lam, "lam")
        if weighting not in ("none", "size", "flops"):
            raise ValueError(f"weighting must be 'none', 'size' or 'flops', got {weighting!r}")
        if (weighting == "flops") != (set_weights is not None) or (
                set_weights is not None and (len(set_weights) != len(sets) or not all(
                    math.isfinite(float(w)) and float(w) > 0 for w in set_weights))):
            raise ValueError("weighting='flops' needs set_weights: one positive finite number per group set "
                             "(CoupledGroupL1.from_model computes them)")
        self.weighting = weighting
        self.set_weights = None if set_weights is None else [float(w) for w in set_weights]
        params = list(params)
        clean = []
        for j, st in enumerate(sets):
            items = [(int(k), torch.as_tensor(idx, dtype=torch.long)) for k, idx in st["items"]]
            for k, idx in items:
                if not 0 <= k < len(params):
                    raise ValueError(f"group set {j} refers to tensor {k}, but there are {len(params)} tensors")
                if idx.dim() != 1 or (idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= params[k].shape[0])):
                    raise ValueError(f"group set {j}: row indices out of range for a tensor of shape "
                                     f"{tuple(params[k].shape)}")
            clean.append({"items": items, "channels": int(st.get("channels", len(items[0][1])))})
        self.sets = clean
        self.shapes = [tuple(p.shape) for p in params]
        self.params = params
        self._pending: list = []

    @classmethod
    def from_model(cls, model: torch.nn.Module, lam: float, example_inputs, ignored_layers=None,
                   weighting: str = "none") -> "CoupledGroupL1":
        """Build the groups of ``model`` with Torch-Pruning's dependency graph, traced on
        ``example_inputs``. The layers producing the model's output keep their channels
        unless ``ignored_layers`` says otherwise. Groups Torch-Pruning couples to layers
        without a known channel slice are left out (listed in ``self.skipped``)."""
        from proxgan._coupled import channel_costs, channel_sets

        params, sets, skipped = channel_sets(model, example_inputs, ignored_layers)
        costs = channel_costs(model, example_inputs, params, sets) if weighting == "flops" else None
        pen = cls(lam, params, sets, weighting, costs)
        pen.skipped = skipped
        return pen

    def param_groups(self, model: torch.nn.Module, **group_options) -> list[dict]:
        """``[{"params": self.params, "penalty": self}, {"params": rest, "penalty": None}]``
        (empty groups left out); ``group_options`` go to both groups."""
        mine = {id(p) for p in self.params}
        rest = [p for p in model.parameters() if id(p) not in mine]
        groups = [{"params": list(self.params), "penalty": self, **group_options}]
        if rest:
            groups.append({"params": rest, "penalty": None, **group_options})
        return groups

    def _weights(self) -> list[torch.Tensor] | None:
        if self.weighting == "none":
            return None
        out = []
        for j, st in enumerate(self.sets):
            if self.weighting == "flops":
                w = self.set_weights[j]
            else:
                w = math.sqrt(sum(math.prod(self.shapes[k][1:]) for k, _ in st["items"]))
            out.append(torch.full((st["channels"],), w, dtype=torch.float64))
        return out

    def _tensors(self, xs) -> list[torch.Tensor]:
        xs = list(self.params) if xs is None else list(xs)
        if len(xs) != len(self.params) or any(x.shape != p.shape for x, p in zip(xs, self.params)):
            raise ValueError(f"CoupledGroupL1 needs {len(self.params)} tensors shaped like its parameters "
                             f"{[tuple(p.shape) for p in self.params]}")
        return xs

    def group_norms(self, xs=None) -> list[torch.Tensor]:
        """:math:`\\lVert x_c\\rVert_2` of every channel, one tensor per group set (``xs``
        defaults to the parameters)."""
        from proxgan._coupled import gather

        xs = [x.detach().to(_acc(x)) for x in self._tensors(xs)]
        return [torch.linalg.vector_norm(gather(xs, st["items"]), dim=1) for st in self.sets]

    def value(self, xs=None) -> torch.Tensor:
        norms = self.group_norms(xs)
        w = self._weights()
        total = sum(((n * w[j].to(n)) if w else n).sum() for j, n in enumerate(norms))
        return self.lam * torch.as_tensor(total, dtype=torch.float32 if not norms else norms[0].dtype)

    def prox_tensors(self, xs, steps, outs=None) -> list[torch.Tensor]:
        """The joint prox of all tensors: ``steps`` a number, or one number or tensor per
        tensor. Writes into ``outs`` when given and returns the results (``xs``' dtypes)."""
        from proxgan._coupled import coupled_prox

        xs = self._tensors(xs)
        per = list(steps) if isinstance(steps, (list, tuple)) else [steps] * len(xs)
        per = [check_step(s, x) for s, x in zip(per, xs)]
        ys = coupled_prox(self.sets, xs, per, self.lam, self._weights())
        ys = [y.to(x.dtype) for y, x in zip(ys, xs)]
        if outs is not None:
            return [o.copy_(y) for o, y in zip(outs, ys)]
        return ys

    def prox(self, x, step=1.0, *, out=None):
        raise TypeError("CoupledGroupL1 couples several tensors: use prox_tensors(xs, steps), or give its "
                        "param_groups(model) to ProxSGD / ProxAdam")

    def __deepcopy__(self, memo: dict) -> "CoupledGroupL1":
        """A copy of the data (λ, index sets) that stays bound to the same parameters (as
        ``torch.optim.Optimizer.load_state_dict``, which deep-copies its groups, needs)."""
        import copy

        new = type(self).__new__(type(self))
        new.__dict__.update(copy.deepcopy(self.__dict__, memo))
        if getattr(self, "params", None) is not None:
            new.params = self.params
        new._pending = []
        return new

    def __repr__(self) -> str:
        n = sum(st["channels"] for st in self.sets)
        return f"CoupledGroupL1(lam={self.lam!r}, groups={n}, weighting={self.weighting!r})"

    def _bound(self) -> list:
        params = getattr(self, "params", None)
        if params is None:
            raise RuntimeError("this CoupledGroupL1 was restored from a state dict without its parameters: "
                               "load the state into an optimizer built with penalty.param_groups(model)")
        return params

    def _check_x(self, x: torch.Tensor) -> None:
        if getattr(self, "params", None) is None:
            # restored from a state dict: ProxOptimizer.load_state_dict checks the group's
            # parameters in order, which binds them here (shapes must match)
            binding = self.__dict__.setdefault("_binding", [])
            if len(binding) < len(self.shapes) and tuple(x.shape) == tuple(self.shapes[len(binding)]):
                binding.append(x)
                if len(binding) == len(self.shapes):
                    self.params = self.__dict__.pop("_binding")
            return
        if not any(x is p for p in self.params):
            raise ValueError(f"CoupledGroupL1 got a tensor of shape {tuple(x.shape)} that is not one of its "
                             "parameters: build the optimizer groups with penalty.param_groups(model)")

    def _prox(self, x, step, out):
        """One tensor of the optimizer's per-tensor loop (see the class docstring)."""
        self._bound()
        if getattr(self, "_pending", None) is None:
            self._pending = []
        k = len(self._pending)
        if k == 0:
            missing = [i for i, p in enumerate(self.params) if p.grad is None]
            if missing:
                raise RuntimeError(f"CoupledGroupL1 needs a gradient for each of its {len(self.params)} parameters "
                                   f"at every step; parameters {missing} have none")
        if k >= len(self.params) or x.shape != self.params[k].shape:
            self._pending = []
            raise RuntimeError("CoupledGroupL1: the optimizer passed the tensors in an unexpected order; give "
                               "it penalty.param_groups(model) and a gradient for every parameter")
        self._pending.append((x, step, out))
        if k + 1 < len(self.params):
            return x if out is None or out is x else out.copy_(x)
        pending, self._pending = self._pending, []
        ys = self.prox_tensors([t for t, _, _ in pending], [s for _, s, _ in pending])
        for (_, _, o), y, p in zip(pending[:-1], ys[:-1], self.params[:-1]):
            (o if o is not None else p.detach()).copy_(y)
        return _write(ys[-1], out)

    def subdiff_distance(self, x, grad):
        raise TypeError("CoupledGroupL1 couples several tensors; its optimality is per group across tensors")


class NM(Penalty):
    r"""N:M structured sparsity: the indicator of "at most ``n`` non-zeros in every ``m``
    consecutive weights along the input dimension" (dimension 1; for a convolution, over
    input channels at each kernel position). 2:4 is what semi-structured sparse GPU
    kernels run (:func:`proxgan.nm.to_semi_structured`).

    ``value`` is 0 on the set and :math:`+\infty` off it. ``prox`` is the projection:
    keep the ``n`` entries of largest :math:`|u_i|` in every block (a scalar step), or, in
    the metric of a per-coordinate step :math:`s` (ProxAdam), the ``n`` of largest
    :math:`u_i^2/s_i`, the exact minimiser of :math:`\sum_i (y_i-u_i)^2/(2s_i)` over the set.
    Ties go to the lower index; a NaN ranks as :math:`+\infty` (it is kept). The set is not
    convex: in an optimizer this is projected gradient, a hard constraint from the first step on.

    In ProxAdam and ProxSGD the projection runs inside the fused CPU step (float32/float64,
    blocks of up to 16). There ProxAdam ranks by :math:`u_i^2 D_i` (:math:`s_i = lr/D_i`), the
    same order as :math:`u_i^2/s_i`; at ``lr = 0`` that is the limit as ``lr`` goes to 0, where
    the unfused path, whose steps are then all 0, keeps the first ``n`` non-zeros of a block.

    Tensors need at least 2 dimensions and ``shape[1]`` a multiple of ``m`` (a clear error
    otherwise): keep biases, norms and e.g. a 3-channel input convolution out of the group.

    Examples
    --------
    >>> import torch
    >>> NM(2, 4).prox(torch.tensor([[1.0, -3.0, 2.0, 0.5]]))
    tensor([[ 0., -3.,  2.,  0.]])
    """

    separable = False

    def __init__(self, n: int = 2, m: int = 4) -> None:
        from proxgan.kernels.nm_project import check_nm

        self.n, self.m = check_nm(n, m)

    def _check_x(self, x: torch.Tensor) -> None:
        from proxgan.kernels.nm_project import nm_blocks

        if not self.applies_to(x):
            nm_blocks(x, self.m)  # raises the error that says what is wrong

    def applies_to(self, x: torch.Tensor) -> bool:
        """Whether ``x`` has an input dimension that is a multiple of ``m``."""
        return x.dim() >= 2 and x.shape[1] % self.m == 0

    def _mask_ok(self, x: torch.Tensor) -> bool:
        from proxgan.kernels.nm_project import nm_blocks

        return bool(((nm_blocks(x, self.m) != 0).sum(dim=1) <= self.n).all())

    def value(self, x: torch.Tensor) -> torch.Tensor:
        check_float_tensor(x, "x")
        self._check_x(x)
        return torch.tensor(0.0 if self._mask_ok(x) else math.inf, dtype=_acc(x))

    def _prox(self, x, step, out):
        from proxgan.kernels import nm_project as _nm

        s = step if isinstance(step, torch.Tensor) and step.numel() > 1 else None
        if prox_on_triton(x):
            return _nm.nm_project(x, self.n, self.m, s, out=out)
        return _nm.nm_project_torch(x, self.n, self.m, s, out=out)

    def subdiff_distance(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """An upper bound of the distance of ``-grad`` to the normal cone of the set: ``|grad|``
        on non-zeros and on the zeros of blocks with fewer than ``n`` non-zeros, 0 on the
        zeros of full blocks (inf off the set)."""
        from proxgan.kernels.nm_project import _unblocks, nm_blocks

        x, grad = self._check_grad(x, grad)
        xb, gb = nm_blocks(x, self.m), nm_blocks(grad, self.m)
        count = (xb != 0).sum(dim=1, keepdim=True)
        d = torch.where((xb == 0) & (count == self.n), torch.zeros_like(gb), gb.abs())
        d = torch.where(count > self.n, torch.full_like(d, math.inf), d)
        return _unblocks(d, x).contiguous()
