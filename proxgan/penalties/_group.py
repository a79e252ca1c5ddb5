r"""Group penalties: :class:`GroupL1` (one group per index along a dimension) and
:class:`CoupledGroupL1` (channel groups across tensors)."""
from __future__ import annotations

import math

from proxgan._torch import torch

from proxgan import kernels as _k
from proxgan._group_prox import group_prox_diag
from proxgan._validation import check_float_tensor, check_nonneg_number, check_step

from ._base import Param, Penalty, acc_dtype, prox_on_triton, write

__all__ = ["GroupL1", "CoupledGroupL1"]


def _check_dim(dim: object, name: str) -> int:
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(f"{name} must be an int, got {dim!r}")
    return dim


def _group_view(x: torch.Tensor, dim):
    """:func:`proxgan.kernels.group_soft_threshold.group_view`, imported at the first call (torch)."""
    from proxgan.kernels.group_soft_threshold import group_view

    return group_view(x, dim)


def _check_group_weights(weights: object, name: str) -> torch.Tensor | None:
    if weights is None:
        return None
    try:
        w = torch.as_tensor(weights).detach()
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"{name} must be a 1-D sequence of numbers (one per group), got {weights!r}") from None
    if w.is_complex() or w.dtype == torch.bool or w.dim() != 1:
        raise TypeError(f"{name} must be a real 1-D tensor (one weight per group), got {w.dtype} "
                        f"of shape {tuple(w.shape)}")
    w = w.to(device="cpu", dtype=torch.float64)
    if not bool(torch.all(torch.isfinite(w) & (w >= 0))):
        raise ValueError(f"{name} must be finite and >= 0")
    return w


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

    With ``weights`` (one :math:`w_g \ge 0` per group) the penalty is
    :math:`\lambda\sum_g w_g\lVert x_g\rVert_2`: every threshold above is multiplied by
    :math:`w_g` (a zero weight leaves its group unpenalised).

    Parameters
    ----------
    lam : float
        Strength :math:`\lambda \ge 0`.
    dim : int, default 0
        The dimension that indexes groups (negative values count from the end); checked
        against each tensor's number of dimensions when the penalty is applied.
    weights : sequence of float or Tensor, optional
        One finite weight :math:`w_g \ge 0` per group (``x.shape[dim]`` of them).
    """

    separable = False

    lam = Param(check_nonneg_number)
    dim = Param(_check_dim)
    weights = Param(_check_group_weights)

    def __init__(self, lam: float, dim: int = 0, weights=None) -> None:
        self.lam = lam
        self.dim = dim
        self.weights = weights

    def _check_x(self, x: torch.Tensor) -> None:
        _group_view(x, self.dim)
        if self.weights is not None and self.weights.numel() != x.shape[self.dim]:
            raise ValueError(f"GroupL1 has {self.weights.numel()} weights but the tensor has {x.shape[self.dim]} "
                             f"groups along dim {self.dim}")

    def _lam_g(self, x: torch.Tensor) -> float | torch.Tensor:
        """:math:`\\lambda w_g` per group (``lam`` when there are no weights)."""
        if self.weights is None:
            return self.lam
        return self.lam * self.weights.to(device=x.device, dtype=acc_dtype(x))

    def group_norms(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`\\lVert x_g\\rVert_2` for every group (shape ``(x.shape[dim],)``)."""
        check_float_tensor(x, "x")
        _, xm = _group_view(x, self.dim)
        return torch.linalg.vector_norm(xm.to(acc_dtype(x)), dim=1)

    def value(self, x: torch.Tensor) -> torch.Tensor:
        norms = self.group_norms(x)
        self._check_x(x)
        return (self._lam_g(x) * norms).sum()

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
                if self.weights is not None:  # lam * w_g * s_i: the weight scales the steps of its group
                    sm = sm * self.weights.to(sm.device)[:, None]
                y2d = group_prox_diag(xm, sm, self.lam).to(x.dtype)
                moved = (x.shape[dim],) + tuple(v for i, v in enumerate(x.shape) if i != dim)
                return write(y2d.reshape(moved).movedim(0, dim), out)
            thr = per_group.to(acc_dtype(x)) * self._lam_g(x)
        else:
            thr = step * self._lam_g(x)
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
        lam = self._lam_g(x)
        lam_col = lam[:, None] if isinstance(lam, torch.Tensor) else lam
        nz = torch.linalg.vector_norm(gm + lam_col * xm / safe[:, None], dim=1)
        z = (torch.linalg.vector_norm(gm, dim=1) - lam).clamp_min(0)
        return torch.where(norms > 0, nz, z)


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

    lam = Param(check_nonneg_number)

    def __init__(self, lam: float, params, sets, weighting: str = "none", set_weights=None) -> None:
        self.lam = lam
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

        xs = [x.detach().to(acc_dtype(x)) for x in self._tensors(xs)]
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
        return write(ys[-1], out)

    def subdiff_distance(self, x, grad):
        raise TypeError("CoupledGroupL1 couples several tensors; its optimality is per group across tensors")


