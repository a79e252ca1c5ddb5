"""Every public function and class documents exactly the parameters of its signature.

The names checked are those the API reference shows: every name of every public
module's ``__all__`` (``docs/_ext/api_pages.py`` decides, for both). A function's
numpydoc ``Parameters`` section must list the parameters of its signature, in order
(``*args`` / ``**kwargs`` written with their stars); a class documents its ``__init__``
parameters in the class docstring (or in ``__init__``'s), the scikit-learn way.
"""
from __future__ import annotations

import dataclasses
import enum
import inspect
import sys
from pathlib import Path

import pytest
from numpydoc.docscrape import ClassDoc, FunctionDoc

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs"))
from _ext.api_pages import public_objects  # noqa: E402

# Docstrings in modules that other work in progress owns (penalties, kernels, solvers and
# the optimizer classes); each entry must be fixed there and then removed here: the test
# is a strict xfail, so it fails as soon as the docstring is right.
PENDING: set[str] = set()


def documented(obj: object) -> list[str]:
    """Parameter names of the numpydoc ``Parameters`` section (``a, b : int`` gives two)."""
    doc = ClassDoc(obj, config={"show_class_members": False}) if inspect.isclass(obj) else FunctionDoc(obj)
    names = [n.strip() for p in doc["Parameters"] for n in p.name.split(",") if n.strip()]
    if inspect.isclass(obj) and not names and "__init__" in vars(obj):
        names = [n.strip() for p in FunctionDoc(obj.__init__)["Parameters"] for n in p.name.split(",") if n.strip()]
    if inspect.isclass(obj) and not names and dataclasses.is_dataclass(obj):
        names = [n.strip() for p in ClassDoc(obj, config={"show_class_members": False})["Attributes"]
                 for n in p.name.split(",") if n.strip()]
    return names


def expected(obj: object) -> list[str] | None:
    """Parameter names of the signature (``None``: nothing to check, e.g. an exception class)."""
    target = obj
    if inspect.isclass(obj):
        if issubclass(obj, enum.Enum):
            # an Enum is not instantiated with parameters of its own: its members are its
            # values, and the __init__ inspect sees is Enum's generic (*args, **kwds)
            return None
        init = getattr(obj, "__init__", None)
        if init is None or not inspect.isfunction(init):
            return None  # a C-level or inherited object.__init__: nothing of ours to document
        target = init
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    names = []
    for p in sig.parameters.values():
        if p.name in ("self", "cls") and inspect.isclass(obj):
            continue
        names.append({p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name)
    return names


def _cases():
    cases = []
    for module, objs in public_objects().items():
        for name, obj in objs:
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            full = f"{module}.{name}"
            marks = [pytest.mark.xfail(strict=True, reason="docstring pending in a module owned elsewhere")] \
                if full in PENDING else []
            cases.append(pytest.param(full, obj, id=full, marks=marks))
    return cases


def mismatch(obj: object) -> str | None:
    """A one-line description of what is wrong with ``obj``'s documented parameters, or ``None``."""
    want = expected(obj)
    if want is None:
        return None
    try:
        have = documented(obj)
    except ValueError as exc:  # numpydoc cannot parse it (a section twice, ...)
        return f"unreadable docstring: {str(exc).splitlines()[0]}"
    if have == want:
        return None
    missing = [n for n in want if n not in have]
    extra = [n for n in have if n not in want]
    parts = [f"undocumented {missing}"] * bool(missing) + [f"documented but not in the signature {extra}"] * bool(extra)
    if not parts:
        parts = [f"order differs: signature {want}, docstring {have}"]
    return "; ".join(parts)


@pytest.mark.parametrize("name, obj", _cases())
def test_docstring_parameters_match_signature(name, obj):
    problem = mismatch(obj)
    assert problem is None, f"{name}: {problem}"


def test_checker_sees_missing_and_extra_parameters():
    def f(a, b, *args, c=1, **kwargs):
        """Something.

        Parameters
        ----------
        a, b : int
            Two numbers.
        d : float
            Not in the signature.
        """

    assert mismatch(f) == "undocumented ['*args', 'c', '**kwargs']; documented but not in the signature ['d']"
