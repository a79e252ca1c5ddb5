r"""State I/O of the proximal optimizers: ``state_dict`` / ``load_state_dict``.

Penalties are stored as plain data (class name and fields), so that a state_dict loads with
``torch.load(weights_only=True)``. Loading is checked before anything changes, maps a
state_dict of the matching torch.optim optimizer, refuses one of another kind with an error
naming both, and keeps ``param_names`` (torch's rule: saved names replace the current ones).
"""
from __future__ import annotations

from itertools import chain
from typing import Any, Callable

import torch

from proxgan import penalties as _penalties
from proxgan.penalties import Penalty

__all__ = ["save", "load"]

_LOW = (torch.float16, torch.bfloat16)


def _penalty_to_data(penalty: Any) -> Any:
    """A proxgan penalty as plain data (class name + fields); other objects unchanged."""
    if isinstance(penalty, Penalty) and getattr(_penalties, type(penalty).__name__, None) is type(penalty):
        return {"__penalty__": type(penalty).__name__, "fields": dict(penalty.__dict__)}
    return penalty


def _penalty_from_data(data: Any) -> Any:
    if isinstance(data, dict) and "__penalty__" in data:
        cls = getattr(_penalties, str(data["__penalty__"]), None)
        if not (isinstance(cls, type) and issubclass(cls, Penalty)):
            raise ValueError(f"unknown penalty {data['__penalty__']!r} in the optimizer state")
        obj = cls.__new__(cls)
        obj.__dict__.update(data["fields"])
        return obj
    return data


def _guess_optimizer(sd: dict[str, Any]) -> str:
    """A name for the optimizer that wrote a state_dict, for error messages."""
    name = sd.get("proxgan_optimizer")
    if name:
        return str(name)
    keys = set().union(*(g.keys() for g in sd.get("param_groups", [{}])))
    if "betas" in keys:
        return "an Adam-type optimizer (torch.optim.Adam/AdamW)"
    if "momentum" in keys:
        return "an SGD-type optimizer (torch.optim.SGD)"
    return "another optimizer"


def save(opt: Any, sd: dict[str, Any]) -> dict[str, Any]:
    """``sd`` (torch's state_dict of ``opt``) with penalties as plain data and the optimizer's name."""
    sd["param_groups"] = [{**g, "penalty": _penalty_to_data(g.get("penalty"))} for g in sd["param_groups"]]
    sd["proxgan_optimizer"] = type(opt).__name__
    return sd


def _map_groups(opt: Any, state_dict: dict[str, Any]) -> list[dict[str, Any]]:
    """The saved groups in ``opt``'s terms, or a ValueError naming both optimizers."""
    me = type(opt).__name__
    saved_name = state_dict.get("proxgan_optimizer")
    if saved_name is not None and saved_name != me and saved_name not in opt._loads_from:
        raise ValueError(f"this state_dict was saved by {saved_name}, not {me}: load it into a {saved_name}")
    if len(state_dict["param_groups"]) != len(opt.param_groups):
        raise ValueError("loaded state dict has a different number of parameter groups")
    groups = []
    for saved, cur in zip(state_dict["param_groups"], opt.param_groups):
        missing = [k for k in opt.defaults if k not in saved]
        core = [k for k in missing if k not in opt._own_keys + opt._defaulted_keys]
        if core:
            raise ValueError(f"cannot load a state_dict of {_guess_optimizer(state_dict)} into {me}: its parameter "
                             f"groups lack {', '.join(core)}")
        group = {k: v for k, v in saved.items() if k in opt.defaults or k in ("params", "param_names")}
        group.update({k: cur[k] for k in missing})
        group["penalty"] = _penalty_from_data(group["penalty"])
        groups.append(group)
    allowed = set(opt._state_keys + opt._optional_state_keys + ("step",))
    for pid, st in state_dict["state"].items():
        extra = [k for k in st if k not in allowed]
        absent = [k for k in opt._state_keys if k not in st]
        if extra or absent:
            what = f"state {', '.join(extra)}" if extra else f"no {', '.join(absent)}"
            raise ValueError(f"cannot load a state_dict of {_guess_optimizer(state_dict)} into {me}: parameter "
                             f"{pid} has {what} ({me} keeps {', '.join(opt._state_keys) or 'momentum_buffer'})")
    return groups


def load(opt: Any, state_dict: dict[str, Any], torch_load: Callable[[dict[str, Any]], None]) -> None:
    """Check ``state_dict`` against ``opt``, load it with ``torch_load`` (torch's
    ``Optimizer.load_state_dict``), then put the step counts and half-precision state in
    proxgan's form (see :meth:`proxgan.optim._base.ProxOptimizer.load_state_dict`)."""
    groups = _map_groups(opt, state_dict)
    for saved, cur in zip(groups, opt.param_groups):
        if len(saved["params"]) != len(cur["params"]):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        opt._check_group({**cur, **saved, "params": cur["params"]})
    ids = chain.from_iterable(g["params"] for g in groups)
    params = chain.from_iterable(g["params"] for g in opt.param_groups)
    pairs = [(pid, p) for pid, p in zip(ids, params) if pid in state_dict["state"]]
    for pid, p in pairs:
        for k, v in state_dict["state"][pid].items():
            if k != "step" and isinstance(v, torch.Tensor) and v.shape != p.shape:
                raise ValueError(f"state {k!r} of parameter {pid} has shape {tuple(v.shape)}, but the parameter "
                                 f"has shape {tuple(p.shape)}")
    torch_load({"state": state_dict["state"], "param_groups": groups})
    capturable = {p: bool(g.get("capturable", False)) for g in opt.param_groups for p in g["params"]}
    for pid, p in pairs:
        st = opt.state[p]
        device = p.device if capturable[p] else "cpu"  # step counts: on the CPU, on the device when capturable
        if "step" in st and not isinstance(st["step"], torch.Tensor):  # older proxgan checkpoints: an int
            st["step"] = torch.tensor(float(st["step"]), device=device)
        elif "step" in st:
            st["step"] = st["step"].detach().to(device=device, dtype=torch.float32)
        if p.dtype in _LOW:
            for k, v in state_dict["state"][pid].items():
                if k != "step" and isinstance(v, torch.Tensor) and v.is_floating_point():
                    st[k] = v.to(device=p.device, dtype=torch.float32)
        for k, v in list(st.items()):
            if k != "step" and isinstance(v, torch.Tensor) and not v.is_contiguous():
                st[k] = v.contiguous()
