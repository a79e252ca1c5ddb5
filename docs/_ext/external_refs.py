"""Resolve references to other projects without downloading their inventories.

A Python cross-reference that Sphinx cannot resolve inside this site is looked up in the
installed packages: when the dotted name imports (``torch.optim.Optimizer``,
``numpy.ndarray``, ``sklearn.linear_model.Lasso``, ``float``), it becomes a link to that
project's documentation (the URL patterns below); a private proxgan name that imports is
shown as code without a link. A name that does not import stays a broken reference, which
the strict build reports.
"""
from __future__ import annotations

import builtins
import importlib
import sys

from docutils import nodes

__all__ = ["resolve_object", "external_url", "setup"]

ALIASES = {"np": "numpy", "sp": "scipy", "nn": "torch.nn", "F": "torch.nn.functional"}
PATTERNS = {
    "torch": "https://docs.pytorch.org/docs/stable/generated/{name}.html",
    "numpy": "https://numpy.org/doc/stable/reference/generated/{name}.html",
    "scipy": "https://docs.scipy.org/doc/scipy/reference/generated/{name}.html",
    "sklearn": "https://scikit-learn.org/stable/modules/generated/{name}.html",
    "matplotlib": "https://matplotlib.org/stable/api/_as_gen/{name}.html",
}


def resolve_object(target: str) -> object | None:
    """Import the object named ``target`` (a dotted name, aliases such as ``np.`` allowed), or ``None``."""
    head, _, rest = target.partition(".")
    target = ALIASES.get(head, head) + ("." + rest if rest else "")
    if "." not in target:
        return getattr(builtins, target, None) if target != "None" else type(None)
    parts = target.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except Exception:  # noqa: BLE001 - not a module: try a shorter prefix
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def external_url(target: str) -> str | None:
    """The documentation URL of an importable name of another project, or ``None``."""
    head, _, rest = target.partition(".")
    full = ALIASES.get(head, head) + ("." + rest if rest else "")
    root = full.split(".")[0]
    if full in ("None", "True", "False", "NotImplemented", "Ellipsis"):
        return f"https://docs.python.org/3/library/constants.html#{full}"
    if "." not in full and hasattr(builtins, full) or full == "None":
        kind = "exceptions" if isinstance(getattr(builtins, full, None), type) and issubclass(getattr(builtins, full), BaseException) else "functions"
        return f"https://docs.python.org/3/library/{kind}.html#{full}"
    if root in PATTERNS:
        return PATTERNS[root].format(name=full)
    if root in sys.stdlib_module_names:
        return f"https://docs.python.org/3/library/{root}.html#{full}"
    return None


def _missing_reference(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "").lstrip("~.")
    module, cls = node.get("py:module") or "", node.get("py:class") or ""
    local = [f"{module}.{cls}.{target}", f"{module}.{target}"] if module else []
    if any(c.startswith("proxgan") and resolve_object(c) is not None for c in [target] + local):
        return contnode
    if "." not in target and any(m.startswith("proxgan") and hasattr(mod, target)
                                 for m, mod in list(sys.modules.items()) if mod is not None):
        return contnode  # a helper of a private module, named from a public one  # a private helper or an undocumented member: shown as code, not linked
    if resolve_object(target) is None and target not in ("None", "True", "False"):
        return None
    url = external_url(target)
    if url is None:
        return None
    ref = nodes.reference("", "", internal=False, refuri=url, reftitle=target)
    ref += contnode
    return ref


def setup(app):
    app.connect("missing-reference", _missing_reference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
