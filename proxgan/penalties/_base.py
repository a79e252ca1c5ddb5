r"""The base class of every penalty, and :class:`Param`: parameters validated whenever they are set."""
from __future__ import annotations

from typing import Any, Callable

from proxgan._torch import torch

from proxgan._validation import check_float_tensor, check_step
from proxgan.kernels._common import compute_dtype

__all__ = ["Penalty", "Param", "acc_dtype", "prox_on_triton", "write", "check_out"]


def prox_on_triton(x: torch.Tensor) -> bool:
    """:func:`proxgan._dispatch.prox_on_triton`, imported at the first call (that module needs torch at
    import time; the penalties' parameter checks and lowering do not)."""
    from proxgan._dispatch import prox_on_triton as impl

    return impl(x)


def acc_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype penalties compute in for ``x`` (the one rule: :func:`proxgan.kernels._common.compute_dtype`)."""
    return compute_dtype(x.dtype)


def write(y: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
    """``y``, or ``y`` copied into ``out`` when given."""
    if out is None:
        return y
    return out.copy_(y)


def check_out(x: torch.Tensor, out: torch.Tensor | None) -> None:
    """Check that ``out`` (when given) matches ``x`` in shape, dtype and device."""
    if out is not None:
        check_float_tensor(out, "out")
        if out.shape != x.shape or out.dtype != x.dtype or out.device != x.device:
            raise ValueError("out must match x in shape, dtype and device")


class Param:
    """A penalty parameter checked every time it is set, at construction and later.

    ``check(value, name)`` returns the value to store or raises (``ValueError``/``TypeError``
    saying what is allowed). After a value is set the penalty's ``_check_params()`` runs (the
    relations between parameters, e.g. ``lo <= hi``); if it raises, the old value is put
    back. So ``pen.lam = -10.0`` raises at once and leaves ``pen`` as it was.

    Parameters
    ----------
    check : callable
        ``check(value, name) -> value``.
    """

    def __init__(self, check: Callable[[Any, str], Any]) -> None:
        self.check = check
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        try:
            return obj.__dict__[self.name]
        except KeyError:
            raise AttributeError(self.name) from None

    def __set__(self, obj: Any, value: Any) -> None:
        value = self.check(value, self.name)
        missing = object()
        old = obj.__dict__.get(self.name, missing)
        obj.__dict__[self.name] = value
        try:
            obj._check_params()
        except Exception:
            if old is missing:
                del obj.__dict__[self.name]
            else:
                obj.__dict__[self.name] = old
            raise


class Penalty:
    """Base class: a proper, closed penalty with an exact prox (see the module docstring)."""

    #: True when g(x) = sum_i g_i(x_i): its prox acts coordinate by coordinate.
    separable: bool = True

    def value(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`g(x)` as a 0-d tensor (see the package docstring)."""
        raise NotImplementedError

    def lowering(self):
        """This penalty as kernel numbers: a :class:`proxgan._lowering.SeparableProx` (a code of
        :class:`proxgan.kernels.fused_penalty.Code` and its scalar vector) or
        :class:`proxgan._lowering.BlockProx`, or ``None`` (the default): no kernel takes it, and
        every path calls :meth:`prox`. Read through :func:`proxgan._lowering.lower` only."""
        return None

    def check(self) -> None:
        """Check every parameter again (a value written around :class:`Param`, e.g. into
        ``__dict__``, is caught here; the optimizers call this before a step writes anything)."""
        for kind in type(self).__mro__:
            for name, attr in vars(kind).items():
                if isinstance(attr, Param) and name in self.__dict__:
                    attr.check(self.__dict__[name], name)
        self._check_params()

    def _check_params(self) -> None:
        """Relations between parameters (called after any of them is set); none by default."""

    def prox(self, x: torch.Tensor, step: float | torch.Tensor = 1.0, *, out: torch.Tensor | None = None) -> torch.Tensor:
        """Return :math:`\\arg\\min_y \\tfrac12\\lVert y-x\\rVert^2 + \\text{step}\\cdot g(y)` (see subclasses)."""
        check_float_tensor(x, "x")
        step = check_step(step, x)
        check_out(x, out)
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
        cd = acc_dtype(x)
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


