r"""Coupled channel groups of a model (from Torch-Pruning's dependency graph) and their exact prox.

A channel of a network is *removable* only together with every slice of every layer that
the graph couples to it: in a ResNet, channel :math:`c` of the residual stream is written
by the stem convolution, by the last convolution of every block (and by their batch
norms), and all of them must drop it at once. Torch-Pruning's ``DependencyGraph`` finds
these couplings for any traced model; we use it as it is.

For every coupled channel :math:`c` the group :math:`x_c` is the union of the slices that
*produce* the channel: the output row :math:`c` of every convolution / linear weight, the
entry :math:`c` of their biases and the scale and shift :math:`c` of the batch norms. The
groups are disjoint (an input column of a layer belongs to the group of the layer that
produces it, not to this one), so the prox of

.. math::

    g(x) = \lambda \sum_c w_c \lVert x_c \rVert_2

is exact and separable over groups: with a scalar step :math:`s`,
:math:`y_c = x_c \max(0, 1 - s\lambda w_c / \lVert x_c\rVert)`; with per-coordinate steps
it is the root-find of :mod:`proxgan._group_prox`. When a group is zero the channel
outputs exactly zero (weights, bias, scale and shift are zero, and the activations map 0 to
0), so removing it changes no output, whatever the padding of the layers that read it.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from proxgan._group_prox import group_prox_diag
from proxgan.kernels._common import compute_dtype

__all__ = ["require_torch_pruning", "output_modules", "dependency_graph", "channel_sets", "channel_costs", "gather",
           "scatter", "coupled_prox"]

#: modules whose output channel ``c`` is row ``c`` of ``weight`` (and entry ``c`` of ``bias``)
_PRODUCERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.modules.batchnorm._BatchNorm)


def require_torch_pruning() -> Any:
    """Import ``torch_pruning`` or raise an ImportError that names the extra to install."""
    try:
        import torch_pruning
    except ImportError as exc:
        raise ImportError("coupled channel groups need Torch-Pruning (the package 'torch-pruning'), which is "
                          "not installed: pip install 'proxgan[pruning]'") from exc
    return torch_pruning


def _as_tuple(example_inputs: Any) -> tuple:
    return example_inputs if isinstance(example_inputs, (tuple, list)) else (example_inputs,)


@torch.no_grad()
def output_modules(model: nn.Module, example_inputs: Any) -> list[nn.Module]:
    """The leaf modules whose output tensor is (part of) the model's output: their output
    channels are the model's and must not be removed."""
    produced: dict[int, nn.Module] = {}
    hooks = [m.register_forward_hook(lambda mod, inp, out: produced.__setitem__(id(out), mod))
             for m in model.modules() if not list(m.children())]
    was = model.training
    model.eval()
    try:
        out = model(*_as_tuple(example_inputs))
    finally:
        for h in hooks:
            h.remove()
        model.train(was)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [produced[id(o)] for o in outs if id(o) in produced]


def dependency_graph(model: nn.Module, example_inputs: Any) -> Any:
    """Torch-Pruning's ``DependencyGraph`` of ``model`` traced on ``example_inputs``."""
    tp = require_torch_pruning()
    was = model.training
    model.eval()
    try:
        return tp.DependencyGraph().build_dependency(model, example_inputs=example_inputs)
    finally:
        model.train(was)


def channel_sets(model: nn.Module, example_inputs: Any, ignored_layers: Sequence[nn.Module] | None = None,
                 graph: Any = None) -> tuple[list[nn.Parameter], list[dict[str, Any]], list[str]]:
    """The coupled channel groups of ``model``.

    Returns ``(params, sets, skipped)``. ``params`` lists the tensors that hold a slice of
    some group (each once, in ``model.parameters()`` order). Each set is one Torch-Pruning
    group of :math:`C` coupled channels: ``{"items": [(k, idx), ...], "root": (module,
    handler), "channels": C}`` where ``params[k].reshape(len, -1)[idx]`` is the ``(C, ·)``
    block of rows of parameter ``k`` (row :math:`c` belongs to channel :math:`c`). ``skipped``
    names the groups left out because a coupled layer has parameters whose channel slice
    we do not know (LayerNorm, PReLU, transposed convolutions...), or because they overlap
    a group already taken. By default the layers that produce the model's output keep
    their channels (``ignored_layers=None``).
    """
    if ignored_layers is None:
        ignored_layers = output_modules(model, example_inputs)
    graph = dependency_graph(model, example_inputs) if graph is None else graph
    roots = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
    order = {id(p): i for i, p in enumerate(model.parameters())}
    taken: dict[int, torch.Tensor] = {}  # id(param) -> rows already in a group
    by_id: dict[int, nn.Parameter] = {}
    raw_sets, skipped = [], []
    for group in graph.get_all_groups(ignored_layers=list(ignored_layers), root_module_types=roots):
        items = list(group.items)
        root = items[0]
        n_ch = len(root.idxs)
        name = getattr(root.dep.target, "name", str(root.dep.target.module))
        rows, bad = [], None
        for it in items:
            mod = it.dep.target.module
            handler = getattr(it.dep.handler, "__name__", "")
            if handler != "prune_out_channels" or not isinstance(mod, nn.Module) \
                    or not list(mod.parameters(recurse=False)):
                continue
            if not isinstance(mod, _PRODUCERS) or (isinstance(mod, nn.modules.conv._ConvNd) and mod.transposed):
                bad = f"{name}: coupled to {type(mod).__name__}"
                break
            idx = torch.full((n_ch,), -1, dtype=torch.long)
            idx[torch.as_tensor([int(r) for r in it.root_idxs], dtype=torch.long)] = torch.as_tensor(
                [int(i) for i in it.idxs], dtype=torch.long)
            if len(it.idxs) != n_ch or bool((idx < 0).any()):
                bad = f"{name}: channels of {type(mod).__name__} do not map one to one"
                break
            for p in (mod.weight, mod.bias):
                if p is None or not p.requires_grad:
                    continue
                seen = taken.get(id(p))
                if seen is not None and bool(seen[idx].any()):
                    bad = f"{name}: overlaps another group"
                    break
                rows.append((p, idx))
            if bad:
                break
        if bad or not rows:
            skipped.append(bad or f"{name}: no parameters")
            continue
        for p, idx in rows:
            mask = taken.setdefault(id(p), torch.zeros(p.shape[0], dtype=torch.bool))
            mask[idx] = True
            by_id[id(p)] = p
        raw_sets.append((rows, (root.dep.target.module, root.dep.handler), n_ch))
    params = sorted(by_id.values(), key=lambda p: order.get(id(p), len(order)))
    index = {id(p): k for k, p in enumerate(params)}
    sets = [{"items": [(index[id(p)], idx) for p, idx in rows], "root": root, "channels": n_ch}
            for rows, root, n_ch in raw_sets]
    return params, sets, skipped


@torch.no_grad()
def channel_costs(model: nn.Module, example_inputs: Any, params: Sequence[torch.Tensor],
                  sets: Sequence[dict[str, Any]]) -> list[float]:
    """Multiply-adds per channel of every set (a conv / linear row's size times the output
    positions of its layer, summed over the set's weight rows), over their mean across channels."""
    positions: dict[int, int] = {}
    owner = {id(m.weight): m for m in model.modules()
             if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd)) and isinstance(getattr(m, "weight", None), torch.Tensor)}
    hooks = [m.register_forward_hook(lambda mod, inp, out: positions.__setitem__(
        id(mod), out[:1].numel() // (out.shape[-1] if isinstance(mod, nn.Linear) else out.shape[1])))
        for m in set(owner.values())]
    was = model.training
    model.eval()
    try:
        model(*_as_tuple(example_inputs))
    finally:
        for h in hooks:
            h.remove()
        model.train(was)
    costs = []
    for st in sets:
        cost = 0
        for k, _ in st["items"]:
            mod = owner.get(id(params[k]))
            if mod is not None and params[k].dim() >= 2:
                cost += params[k][0].numel() * positions.get(id(mod), 1)
        costs.append(float(max(cost, 1)))
    n = [st["channels"] for st in sets]
    mean = sum(c * k for c, k in zip(costs, n)) / max(sum(n), 1)
    return [c / mean for c in costs]


def _rows(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(t.shape[0], -1)


def gather(tensors: Sequence[torch.Tensor], items: Sequence[tuple[int, torch.Tensor]]) -> torch.Tensor:
    """The ``(C, M)`` matrix whose row :math:`c` concatenates channel :math:`c`'s slices."""
    return torch.cat([_rows(tensors[k])[idx.to(tensors[k].device)] for k, idx in items], dim=1)


def scatter(tensors: Sequence[torch.Tensor], items: Sequence[tuple[int, torch.Tensor]], ym: torch.Tensor) -> None:
    """Write the columns of ``ym`` (as laid out by :func:`gather`) back into ``tensors`` in place."""
    col = 0
    for k, idx in items:
        rows = _rows(tensors[k])
        width = rows.shape[1]
        rows.index_copy_(0, idx.to(rows.device), ym[:, col:col + width].to(rows.dtype))
        col += width


def coupled_prox(sets: Sequence[dict[str, Any]], xs: Sequence[torch.Tensor],
                 steps: float | Sequence[float | torch.Tensor], lam: float,
                 weights: Sequence[torch.Tensor] | None = None) -> list[torch.Tensor]:
    r"""Exact prox of :math:`\lambda\sum_c w_c\lVert x_c\rVert` over the coupled groups.

    ``steps`` is one number (or one per tensor), or one tensor per tensor broadcastable to
    it (the diagonal metric). Entries outside every group are returned unchanged. Returns
    new tensors in the compute dtype (float64 for float64 input, float32 otherwise).
    """
    ys = [x.detach().to(compute_dtype(x.dtype)).clone() for x in xs]
    per = steps if isinstance(steps, (list, tuple)) else [steps] * len(xs)
    tensor_steps = any(isinstance(s, torch.Tensor) and s.numel() > 1 for s in per)
    if tensor_steps:
        full = [torch.broadcast_to(torch.as_tensor(s, dtype=y.dtype, device=y.device), y.shape) for s, y in zip(per, ys)]
    for j, st in enumerate(sets):
        items = st["items"]
        w = None if weights is None else weights[j]
        xm = gather(ys, items)
        if tensor_steps:
            sm = gather(full, items)
            sm = sm if w is None else sm * w.to(sm)[:, None]
            ym = group_prox_diag(xm, sm, lam)
        else:
            svals = {float(per[k]) for k, _ in items}
            if len(svals) != 1:  # different scalar steps across the tensors of a group
                sm = torch.cat([torch.full((xm.shape[0], _rows(ys[k]).shape[1]), float(per[k]), dtype=xm.dtype)
                                for k, _ in items], dim=1)
                ym = group_prox_diag(xm, sm if w is None else sm * w.to(sm)[:, None], lam)
            else:
                thr = svals.pop() * lam * (1.0 if w is None else w.to(xm))
                norms = torch.linalg.vector_norm(xm, dim=1)
                safe = torch.where(norms > 0, norms, torch.ones_like(norms))
                ym = xm * torch.clamp(1 - thr / safe, min=0)[:, None]
        scatter(ys, items, ym)
    return ys
