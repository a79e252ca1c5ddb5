r"""Turn sparsity into speed: remove zeroed channels, count parameters and FLOPs, time inference.

A group penalty (:class:`proxgan.penalties.GroupL1` with ``dim=0``) sets whole output
channels of a layer to zero: all of a convolution filter, or a whole row of a linear
layer. Such a channel still costs memory and time in a dense model. :func:`compact`
rebuilds the model without it.

A zero filter does not make the channel's output zero: it outputs its bias :math:`b_c`,
which the following channel-wise modules (activation, pooling, batch norm) map to a
constant :math:`k_c`. :func:`compact` folds that constant into the bias of the next
layer, :math:`b'_o = b_o + \sum_{c\ \text{removed}} k_c \sum_{\text{taps}} W_{o,c}`, which is
exact when every output of the next layer sees the whole channel: a linear layer, or a
convolution without zero padding. Before a padded convolution a channel is removed only
when :math:`k_c = 0`. Outputs of the compact model equal those of the original (in eval
mode) up to floating-point rounding.

A low-rank penalty (:class:`proxgan.penalties.NuclearNorm`) instead makes a linear layer's
weight of rank :math:`r`: ``compact(model, low_rank=True)`` (or :func:`factorize_low_rank`)
replaces such a layer, ``out x in``, by two layers ``r x in`` (no bias) and ``out x r`` when
that has fewer parameters, :math:`r(\text{in} + \text{out}) < \text{in}\cdot\text{out}`.

Examples
--------
>>> import torch
>>> from torch import nn
>>> from proxgan.prune import compact
>>> m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).eval()
>>> with torch.no_grad():
...     m[0].weight[:5] = 0
>>> small = compact(m)
>>> small[0].out_features
3
>>> x = torch.randn(3, 4)
>>> bool(torch.allclose(small(x), m(x), atol=1e-6))
True
"""
from __future__ import annotations

import copy
import statistics
import time
from typing import Any

import torch
from torch import nn

__all__ = ["compact", "factorize_low_rank", "zero_channels", "count_params", "count_flops", "inference_time",
           "compaction_report"]

_ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.ELU, nn.GELU, nn.SiLU, nn.ReLU6, nn.Identity,
                nn.Dropout, nn.Dropout2d, nn.Softplus, nn.Hardtanh)
_BN = (nn.BatchNorm1d, nn.BatchNorm2d)


def _flatten(model: nn.Module) -> list[nn.Module]:
    if isinstance(model, nn.Sequential):
        return [m for child in model for m in _flatten(child)]
    return [model]


def _is_producer(m: nn.Module) -> bool:
    return (isinstance(m, nn.Linear)) or (isinstance(m, nn.Conv2d) and m.groups == 1)


def zero_channels(layer: nn.Module) -> torch.Tensor:
    """Boolean mask of the output channels of a ``Conv2d`` / ``Linear`` whose weights are all exactly zero.

    Parameters
    ----------
    layer : torch.nn.Module
        A ``Conv2d`` or ``Linear`` layer.
    """
    w = layer.weight.detach()
    return (w.reshape(w.shape[0], -1) == 0).all(dim=1)


def _constant_through(mods: list[nn.Module], values: torch.Tensor) -> torch.Tensor | None:
    """Per-channel constant after the channel-wise modules ``mods``; None if one is not supported."""
    v = values.clone()
    for m in mods:
        if isinstance(m, _ELEMENTWISE):
            v = v if isinstance(m, (nn.Dropout, nn.Dropout2d, nn.Identity)) else m(v)
        elif isinstance(m, _BN):
            if m.running_mean is None:
                return None
            v = (v - m.running_mean) / torch.sqrt(m.running_var + m.eps)
            if m.affine:
                v = v * m.weight + m.bias
        elif isinstance(m, (nn.MaxPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.Flatten)):
            pass  # a constant map stays constant (max-pool pads with -inf)
        elif isinstance(m, nn.AvgPool2d) and (m.padding in (0, (0, 0)) or not m.count_include_pad):
            pass
        else:
            return None
    return v


def _slice_bn(m: nn.Module, keep: torch.Tensor) -> nn.Module:
    new = type(m)(int(keep.sum()), eps=m.eps, momentum=m.momentum, affine=m.affine,
                  track_running_stats=m.track_running_stats)
    with torch.no_grad():
        for name in ("weight", "bias", "running_mean", "running_var"):
            src = getattr(m, name)
            if src is not None:
                getattr(new, name).copy_(src[keep])
        if m.num_batches_tracked is not None:
            new.num_batches_tracked.copy_(m.num_batches_tracked)
    return new.train(m.training)


def _slice_out(m: nn.Module, keep: torch.Tensor) -> nn.Module:
    w = m.weight.detach()[keep]
    if isinstance(m, nn.Linear):
        new: nn.Module = nn.Linear(m.in_features, w.shape[0], bias=m.bias is not None)
    else:
        new = nn.Conv2d(m.in_channels, w.shape[0], m.kernel_size, m.stride, m.padding, m.dilation,
                        1, m.bias is not None, m.padding_mode)
    new = new.to(dtype=w.dtype, device=w.device)
    with torch.no_grad():
        new.weight.copy_(w)
        if m.bias is not None:
            new.bias.copy_(m.bias.detach()[keep])
    return new.train(m.training)


def _slice_in(m: nn.Module, keep_cols: torch.Tensor, fold: torch.Tensor) -> nn.Module:
    """Consumer ``m`` with only the input columns ``keep_cols``; ``fold`` (per output) added to its bias."""
    w = m.weight.detach()[:, keep_cols]
    need_bias = m.bias is not None or bool((fold != 0).any())
    if isinstance(m, nn.Linear):
        new: nn.Module = nn.Linear(w.shape[1], m.out_features, bias=need_bias)
    else:
        new = nn.Conv2d(w.shape[1], m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation,
                        1, need_bias, m.padding_mode)
    new = new.to(dtype=w.dtype, device=w.device)
    with torch.no_grad():
        new.weight.copy_(w)
        if need_bias:
            base = m.bias.detach() if m.bias is not None else torch.zeros_like(fold)
            new.bias.copy_(base + fold.to(w.dtype))
    return new.train(m.training)


def _plain_sequential(model: nn.Module) -> bool:
    """True for an ``nn.Sequential`` of producers and the channel-wise modules the fast path knows."""
    known = _ELEMENTWISE + _BN + (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.Flatten)
    return isinstance(model, nn.Sequential) and all(
        _is_producer(m) or isinstance(m, known) for m in _flatten(model))


def compact(model: nn.Module, example_inputs: Any = None, *, ignored_layers: Any = None,
            check_atol: float = 1e-4, low_rank: bool = False, rank_rtol: float | None = None) -> nn.Module:
    """A smaller dense copy of ``model`` without the channels its weights zeroed (see module docstring).

    Two paths:

    * a plain ``nn.Sequential`` (producers ``Linear`` / ``Conv2d`` with ``groups=1`` and
      channel-wise modules in between) is rebuilt directly: a channel whose *output row*
      is zero is removed and the constant it still emits is folded into the next bias;
    * any other model that Torch-Pruning can trace (ResNets, VGG with batch norm, MLPs
      with skips) needs ``example_inputs``. Its coupled channel groups (see
      :class:`proxgan.penalties.CoupledGroupL1`) whose every slice is zero (the producing
      rows, their bias entries, the batch-norm scale and shift) emit exact zeros and are
      removed with Torch-Pruning, which also drops the matching input columns of the
      layers that read them. The result is checked against the original on
      ``example_inputs`` in eval mode.

    Parameters
    ----------
    model : nn.Module
        The trained model; it is not modified.
    example_inputs : Tensor or tuple, optional
        Inputs to trace a non-Sequential model with (a batch of one is enough).
    ignored_layers : list of nn.Module, optional
        Layers whose output channels stay. Default: the layers producing the model's output.
    check_atol : float
        Largest output difference (relative to the output scale) the traced path accepts.
    low_rank : bool
        Also factorise every linear layer of low rank (:func:`factorize_low_rank`).
    rank_rtol : float, optional
        Singular values below ``rank_rtol`` times the largest count as zero (see
        :func:`factorize_low_rank`).

    Returns
    -------
    nn.Module
        A new model whose outputs in eval mode equal those of ``model`` up to rounding.
        The layers producing the output keep all their channels.
    """
    if example_inputs is None or _plain_sequential(model):
        small = _compact_sequential(model)
    else:
        small = _compact_traced(model, example_inputs, ignored_layers, check_atol)
    return factorize_low_rank(small, rank_rtol, copy_model=False) if low_rank else small


def _low_rank_pair(layer: nn.Linear, rtol: float | None) -> nn.Sequential | None:
    """``layer`` as two linear layers through its rank (``None`` when that saves nothing)."""
    w = layer.weight.detach()
    u, s, vh = torch.linalg.svd(w.double(), full_matrices=False)
    if rtol is None:
        rtol = max(w.shape) * torch.finfo(w.dtype).eps
    r = int((s > rtol * s[0]).sum()) if s.numel() and float(s[0]) > 0 else 0
    n_out, n_in = w.shape
    if r * (n_in + n_out) >= n_in * n_out:
        return None
    r = max(r, 1)  # a zero matrix: one zero channel keeps the shapes valid
    first = nn.Linear(n_in, r, bias=False, device=w.device, dtype=w.dtype)
    second = nn.Linear(r, n_out, bias=layer.bias is not None, device=w.device, dtype=w.dtype)
    with torch.no_grad():
        first.weight.copy_(s[:r, None] * vh[:r])
        second.weight.copy_(u[:, :r])
        if layer.bias is not None:
            second.bias.copy_(layer.bias.detach())
    return nn.Sequential(first, second)


def factorize_low_rank(model: nn.Module, rtol: float | None = None, *, copy_model: bool = True) -> nn.Module:
    r"""Replace every ``nn.Linear`` of rank :math:`r` by two layers when it saves parameters.

    ``W = U_r \Sigma_r V_r^\top`` (out x in) becomes ``Linear(in, r, bias=False)`` with weight
    :math:`\Sigma_r V_r^\top` followed by ``Linear(r, out)`` with weight :math:`U_r` and the
    original bias, when :math:`r(\text{in} + \text{out}) < \text{in}\cdot\text{out}`. Outputs are equal
    up to the dropped singular values (below ``rtol`` times the largest) and rounding.

    Parameters
    ----------
    model : nn.Module
        The model; it is not modified unless ``copy_model`` is False.
    rtol : float, optional
        Relative threshold of the numerical rank; default ``max(out, in)`` times the weight
        dtype's machine epsilon (the weights a :class:`~proxgan.penalties.NuclearNorm` prox
        writes have exact zero singular values, up to that rounding).
    copy_model : bool
        Work on a deep copy (default) or on ``model`` itself.

    Returns
    -------
    nn.Module
        The model with its low-rank linear layers factorised (an ``nn.Linear`` given as
        ``model`` comes back as an ``nn.Sequential`` of two, when factorised).
    """
    model = copy.deepcopy(model) if copy_model else model
    if isinstance(model, nn.Linear):
        return _low_rank_pair(model, rtol) or model
    for name, child in list(model.named_children()):
        setattr(model, name, factorize_low_rank(child, rtol, copy_model=False))
    return model


def _compact_traced(model: nn.Module, example_inputs: Any, ignored_layers: Any, check_atol: float) -> nn.Module:
    from proxgan._coupled import _as_tuple, channel_sets, dependency_graph, gather, output_modules

    new = copy.deepcopy(model).eval()
    if ignored_layers is not None:  # the same layers in the copy
        names = {id(m): n for n, m in model.named_modules()}
        lookup = dict(new.named_modules())
        ignored_layers = [lookup[names[id(m)]] for m in ignored_layers]
    else:
        ignored_layers = output_modules(new, example_inputs)
    graph = dependency_graph(new, example_inputs)
    params, sets, _ = channel_sets(new, example_inputs, ignored_layers, graph=graph)
    plan = []
    with torch.no_grad():
        for st in sets:  # decide everything before pruning (pruning replaces the parameters)
            zero = (gather([p.detach() for p in params], st["items"]) == 0).all(dim=1)
            idxs = zero.nonzero().flatten().tolist()
            if len(idxs) == st["channels"]:
                idxs = idxs[1:]  # a layer keeps at least one channel
            if idxs:
                plan.append((st["root"], idxs))
    for (module, handler), idxs in plan:
        graph.get_pruning_group(module, handler, idxs).prune()
    new.train(model.training)
    was = model.training
    model.eval()
    new.eval()
    with torch.no_grad():
        a, b = model(*_as_tuple(example_inputs)), new(*_as_tuple(example_inputs))
    model.train(was)
    new.train(was)
    a, b = (a, b) if isinstance(a, torch.Tensor) else (torch.cat([t.flatten() for t in a]), torch.cat([t.flatten() for t in b]))
    err = float((a - b).abs().max()) if a.numel() else 0.0
    if err > check_atol * (1.0 + float(a.abs().max())):
        raise RuntimeError(f"the compacted model differs from the original by {err:.3g} on example_inputs: a removed "
                           "channel did not output zeros (an activation with f(0) != 0, or a layer whose channel "
                           "slice is not penalised); the original model is unchanged")
    return new


def _compact_sequential(model: nn.Module) -> nn.Sequential:
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"compact needs example_inputs for a model that is not a plain nn.Sequential, got "
                        f"{type(model).__name__}: compact(model, example_inputs=x)")
    mods = [copy.deepcopy(m) for m in _flatten(model)]
    for i, prod in enumerate(mods):
        if not _is_producer(prod):
            continue
        j = next((k for k in range(i + 1, len(mods)) if _is_producer(mods[k])), None)
        if j is None:
            continue
        between, cons = mods[i + 1:j], mods[j]
        n_flat = sum(isinstance(m, nn.Flatten) for m in between)
        conv_prod = isinstance(prod, nn.Conv2d)
        if n_flat > 1 or (isinstance(cons, nn.Conv2d) and (n_flat or not conv_prod)):
            continue
        if isinstance(cons, nn.Linear) and conv_prod and n_flat != 1:
            continue
        zero = zero_channels(prod)
        if not zero.any():
            continue
        bias = prod.bias.detach() if prod.bias is not None else torch.zeros(zero.numel(), dtype=prod.weight.dtype)
        with torch.no_grad():
            k = _constant_through(between, bias)
        if k is None:
            continue
        padded = isinstance(cons, nn.Conv2d) and (
            cons.padding != "valid" if isinstance(cons.padding, str) else any(p != 0 for p in cons.padding))
        remove = zero & (k == 0) if padded else zero.clone()
        if remove.all():
            remove[0] = False
        if not remove.any():
            continue
        keep = ~remove
        c = zero.numel()
        w = cons.weight.detach()
        with torch.no_grad():
            if isinstance(cons, nn.Conv2d):
                fold = (w[:, remove].sum(dim=(2, 3)) * k[remove]).sum(dim=1)
                keep_cols = keep
            else:
                per = w.shape[1] // c
                cols = torch.arange(w.shape[1], device=w.device) // per
                fold = (w[:, remove[cols]] * k[cols][remove[cols]]).sum(dim=1)
                keep_cols = keep[cols]
        mods[i] = _slice_out(prod, keep)
        for t in range(i + 1, j):
            if isinstance(mods[t], _BN):
                mods[t] = _slice_bn(mods[t], keep)
        mods[j] = _slice_in(cons, keep_cols, fold)
    out = nn.Sequential(*mods)
    return out.train(model.training)


def count_params(model: nn.Module) -> int:
    """Number of parameter entries.

    Parameters
    ----------
    model : torch.nn.Module
        The model.
    """
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def count_flops(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """FLOPs of one forward pass on one sample of shape ``input_shape`` (2 per multiply-add).

    Counts ``Conv2d``, ``ConvTranspose2d`` and ``Linear`` layers only (they dominate).

    Parameters
    ----------
    model : torch.nn.Module
        The model.
    input_shape : tuple of int
        Shape of one sample.
    """
    total = 0

    def hook(m: nn.Module, inp: Any, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(m, nn.Linear):
            total += 2 * m.in_features * m.out_features * (out.numel() // m.out_features)
        elif isinstance(m, nn.Conv2d):
            kh, kw = m.kernel_size
            total += 2 * out.numel() * (m.in_channels // m.groups) * kh * kw
        elif isinstance(m, nn.ConvTranspose2d):
            kh, kw = m.kernel_size
            total += 2 * inp[0].numel() * (m.out_channels // m.groups) * kh * kw

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]
    was = model.training
    model.eval()
    try:
        p = next(model.parameters())
        model(torch.zeros(1, *input_shape, dtype=p.dtype, device=p.device))
    finally:
        for h in handles:
            h.remove()
        model.train(was)
    return total


@torch.no_grad()
def inference_time(model: nn.Module, x: torch.Tensor, *, repeats: int = 30, warmup: int = 5) -> float:
    """Median wall time in seconds of ``model(x)`` in eval mode (synchronising CUDA).

    Parameters
    ----------
    model : torch.nn.Module
        The model.
    x : torch.Tensor
        A batch of inputs.
    repeats : int
        Timed runs.
    warmup : int
        Untimed runs first.
    """
    was = model.training
    model.eval()
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    times = []
    for r in range(warmup + repeats):
        sync()
        t0 = time.perf_counter()
        model(x)
        sync()
        if r >= warmup:
            times.append(time.perf_counter() - t0)
    model.train(was)
    return statistics.median(times)


def compaction_report(model: nn.Sequential, x: torch.Tensor, *, repeats: int = 30) -> dict[str, Any]:
    """Parameters, FLOPs, inference time and max output difference before and after :func:`compact`.

    ``x`` is a batch of inputs; times are medians over ``repeats`` runs on that batch,
    the two models interleaved (A B A B ...) after one warm-up each.

    Parameters
    ----------
    model : torch.nn.Sequential
        The trained model.
    x : torch.Tensor
        A batch of inputs.
    repeats : int
        Timed runs of each model.
    """
    was = model.training
    small = compact(model).eval()
    shape = tuple(x.shape[1:])
    model.eval()
    with torch.no_grad():
        diff = float((model(x) - small(x)).abs().max())
    model.train(was)
    tb, ta = [], []
    for _ in range(repeats):  # interleaved, so that load from other processes hits both alike
        tb.append(inference_time(model, x, repeats=1, warmup=1))
        ta.append(inference_time(small, x, repeats=1, warmup=1))
    t_before, t_after = statistics.median(tb), statistics.median(ta)
    return {
        "params_before": count_params(model), "params_after": count_params(small),
        "flops_before": count_flops(model, shape), "flops_after": count_flops(small, shape),
        "time_before_s": t_before, "time_after_s": t_after, "max_abs_output_diff": diff,
        "batch": int(x.shape[0]),
    }
