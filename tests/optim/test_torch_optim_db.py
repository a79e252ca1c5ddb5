"""ProxAdam, ProxAdamW and ProxSGD against torch's own optimizer database (``optim_db``).

torch ships, with every release, the table its optimizers are tested with:
``torch.testing._internal.common_optimizers.optim_db``. Each entry gives the configurations
(``optim_inputs_func``) and the invalid inputs with the exception and message torch raises
(``optim_error_inputs_func``). Here, with the installed torch:

* every CPU configuration of Adam, AdamW and SGD, with each global flag torch's generator
  adds (``foreach``, ``fused``, ``differentiable``, each on and all off), runs 20 steps in
  our optimizer (penalty ``None``) and in torch's, in float32 and float64;
* every error input raises the same exception type, with a message matching torch's regex;
* OptimizerInfo entries for our three optimizers (built from torch's generators) drive our
  own checkpoint test, with an L1 penalty added to every configuration.
"""
from __future__ import annotations

import copy
import io
import pickle
import re
import warnings

import pytest
import torch
from torch.testing._internal.common_optimizers import (
    OptimizerErrorEnum,
    OptimizerInfo,
    _get_optim_inputs_including_global_cliquey_kwargs,
    optim_db,
)

from proxgan.optim import ProxAdam, ProxAdamW, ProxSGD
from proxgan.penalties import L1

TWINS = {ProxAdam: torch.optim.Adam, ProxAdamW: torch.optim.AdamW, ProxSGD: torch.optim.SGD}
TORCH_INFO = {info.optim_cls: info for info in optim_db if info.optim_cls in TWINS.values()}


def our_info(cls):
    """An OptimizerInfo for one of our optimizers, on torch's generators for its twin."""
    twin = TORCH_INFO[TWINS[cls]]
    return OptimizerInfo(cls, optim_inputs_func=twin.optim_inputs_func,
                         optim_error_inputs_func=twin.optim_error_inputs_func,
                         supported_impls=("foreach", "differentiable", "fused"),
                         has_capturable_arg=cls is not ProxSGD, supports_fused_on=("cpu", "cuda"),
                         supports_complex=True)


OUR_INFOS = [our_info(cls) for cls in TWINS]
CONFIGS = [(info, oi) for info in OUR_INFOS
           for oi in _get_optim_inputs_including_global_cliquey_kwargs("cpu", torch.float32, info)]
CONFIG_IDS = [f"{info.name}-{oi.desc}" for info, oi in CONFIGS]
ERRORS = [(info, e) for info in OUR_INFOS for e in info.optim_error_inputs_func("cpu", torch.float32)]
ERROR_IDS = [f"{info.name}-{e.optimizer_error_input.desc}" for info, e in ERRORS]
SHAPES = [(3, 4), (5,), (2, 1, 3)]

# Where our step runs the same arithmetic as torch's, in the same order, it must agree bit
# for bit; elsewhere (a fused numba pass or our for-loop against torch's kernels, which
# round differently) to 1e-6 (float32) / 1e-12 (float64) after 20 steps.
# Measured: SGD's foreach and for-loop paths use torch's formulas and are exact.
# ``differentiable=True`` runs our for-loop under autograd; it is compared with torch's
# for-loop without autograd, since torch's differentiable Adam computes its bias corrections
# from the float32 step tensor (about 1e-8 off in float64), which we do not copy.
EXACT = {("ProxSGD", "foreach"), ("ProxSGD", "for-loop")}


def _impl(kwargs):
    if kwargs.get("fused"):
        return "fused"
    if kwargs.get("foreach"):
        return "foreach"
    if kwargs.get("differentiable"):
        return "differentiable"
    return "for-loop"  # torch's generator sets foreach=False, fused=False


def _tensors(dtype, seed):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=gen, dtype=torch.float64).to(dtype) for s in SHAPES]


def run_steps(opt, params, dtype, steps=20):
    for k in range(steps):
        for p, g in zip(params, _tensors(dtype, 100 + k)):
            p.grad = g
        opt.step()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize(("info", "optim_input"), CONFIGS, ids=CONFIG_IDS)
def test_twenty_steps_equal_torch(info, optim_input, dtype):
    ours_params = _tensors(dtype, 0)  # plain tensors (a differentiable step writes them under autograd)
    torch_params = [p.clone() for p in ours_params]
    ours = info.optim_cls(ours_params, **copy.deepcopy(optim_input.kwargs))
    theirs = TWINS[info.optim_cls](torch_params, **{**copy.deepcopy(optim_input.kwargs), "differentiable": False})
    run_steps(ours, ours_params, dtype)
    run_steps(theirs, torch_params, dtype)
    exact = (info.name, _impl(optim_input.kwargs)) in EXACT
    tol = 0.0 if exact else (1e-6 if dtype == torch.float32 else 1e-12)
    for p, q in zip(ours_params, torch_params):
        assert p.dtype == q.dtype
        torch.testing.assert_close(p, q, rtol=0, atol=tol)
    for p, q in zip(ours_params, torch_params):  # and the state: the same keys and values
        a, b = ours.state.get(p, {}), theirs.state.get(q, {})
        assert a.keys() == b.keys()
        for k in a:
            torch.testing.assert_close(a[k].to(b[k].dtype), b[k], rtol=0, atol=tol * 10, check_device=False)


@pytest.mark.parametrize(("info", "error_input"), ERRORS, ids=ERROR_IDS)
def test_error_inputs_match_torch(info, error_input):
    oi = error_input.optimizer_error_input
    params = [torch.nn.Parameter(torch.randn(2, 3))] if oi.params is None else oi.params

    def build_and_step():
        opt = info.optim_cls(params, **oi.kwargs)
        if error_input.error_on == OptimizerErrorEnum.STEP_ERROR:
            for group in opt.param_groups:
                for p in group["params"]:
                    p.grad = torch.ones_like(p)
            opt.step()

    if issubclass(error_input.error_type, Warning):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            build_and_step()
        messages = [str(w.message) for w in caught if issubclass(w.category, error_input.error_type)]
        assert any(re.search(error_input.error_regex, m) for m in messages), messages
        return
    with pytest.raises(Exception) as excinfo:
        build_and_step()
    assert isinstance(excinfo.value, error_input.error_type), (type(excinfo.value), str(excinfo.value))
    assert re.search(error_input.error_regex, str(excinfo.value)), str(excinfo.value)


def _with_l1(kwargs):
    return {**copy.deepcopy(kwargs), "penalty": L1(0.05)}


@pytest.mark.parametrize(("info", "optim_input"), CONFIGS, ids=CONFIG_IDS)
def test_checkpoint_loads_repeatedly(info, optim_input):
    """Saved after 3 steps, the state_dict loads twice into the same optimizer, into a deepcopy
    and into an unpickled copy; each then continues exactly as the uninterrupted run."""
    kwargs = _with_l1(optim_input.kwargs)
    named = [(f"w{i}", p) for i, p in enumerate(_tensors(torch.float64, 0))]
    straight = info.optim_cls(named, **copy.deepcopy(kwargs))
    params = [p for _, p in named]
    run_steps(straight, params, torch.float64, steps=3)
    sd = copy.deepcopy(straight.state_dict())
    assert sd["param_groups"][0]["param_names"] == ["w0", "w1", "w2"]
    buf = io.BytesIO()
    torch.save(sd, buf)
    buf.seek(0)
    sd = torch.load(buf, weights_only=True)
    saved = [p.clone() for p in params]
    run_steps(straight, params, torch.float64, steps=3)
    expected = [p.clone() for p in params]

    copies = []
    for how in ("twice", "deepcopy", "pickle"):
        ps = [p.clone() for p in saved]
        opt = info.optim_cls([(f"w{i}", p) for i, p in enumerate(ps)], **copy.deepcopy(kwargs))
        if how == "twice":  # (each load gets its own copy: a loaded state shares the tensors it was given)
            opt.load_state_dict(copy.deepcopy(sd))
        elif how == "deepcopy":
            opt = copy.deepcopy(opt)
            ps = [p for g in opt.param_groups for p in g["params"]]
        else:
            opt = pickle.loads(pickle.dumps(opt))
            ps = [p for g in opt.param_groups for p in g["params"]]
        opt.load_state_dict(copy.deepcopy(sd))
        assert opt.state_dict()["param_groups"][0]["param_names"] == ["w0", "w1", "w2"]
        assert opt.param_groups[0]["penalty"] == L1(0.05)
        copies.append((opt, ps))
    for opt, ps in copies:
        run_steps(opt, ps, torch.float64, steps=3)
        for p, q in zip(ps, expected):
            torch.testing.assert_close(p, q, rtol=0, atol=0)
