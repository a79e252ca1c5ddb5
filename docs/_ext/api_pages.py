"""Write the API reference pages from every public module's ``__all__`` (before autosummary runs).

A module is public when no part of its dotted name starts with ``_``. Each public object
gets one page, under the public module that owns it: the module it is defined in when
that module is public, else the public module with the longest name that is a prefix of
its defining module (``proxgan.linear_model`` for ``proxgan.linear_model._cd.Lasso``),
else the first module that exports it. Other modules that re-export it link there. A name
added to an ``__all__`` later appears with no edit here.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType

__all__ = ["public_modules", "public_objects", "write_pages", "setup"]

PACKAGE = "proxgan"


def public_modules(package: str = PACKAGE) -> list[ModuleType]:
    """Import and return ``package`` and each of its public submodules, sorted by name."""
    root = importlib.import_module(package)
    names = {package}
    for info in pkgutil.walk_packages(root.__path__, prefix=package + "."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.add(info.name)
    return [importlib.import_module(n) for n in sorted(names)]


def _owner(obj: object, exporters: list[str]) -> str:
    defined = getattr(obj, "__module__", None) or ""
    if defined in exporters:
        return defined
    prefixes = [m for m in exporters if defined.startswith(m + ".")]
    return max(prefixes, key=len) if prefixes else exporters[0]


def public_objects(package: str = PACKAGE) -> dict[str, list[tuple[str, object]]]:
    """Map each public module name to the ``(name, object)`` pairs documented on its page.

    Submodules listed in an ``__all__`` and dunder names are left out; an object exported
    by several modules is listed once, under its owner (see the module docstring).
    """
    modules = public_modules(package)
    exporters: dict[int, list[str]] = {}
    found: dict[int, tuple[str, object]] = {}
    for mod in modules:
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name)
            if inspect.ismodule(obj) or (name.startswith("__") and name.endswith("__")):
                continue
            exporters.setdefault(id(obj), []).append(mod.__name__)
            found.setdefault(id(obj), (name, obj))
    pages: dict[str, list[tuple[str, object]]] = {m.__name__: [] for m in modules}
    for key, mods in exporters.items():
        name, obj = found[key]
        owner = _owner(obj, mods)
        own_name = next(n for n in getattr(importlib.import_module(owner), "__all__") if getattr(importlib.import_module(owner), n) is obj)
        pages[owner].append((own_name, obj))
    return {m: sorted(v, key=lambda t: t[0].lower()) for m, v in pages.items()}


def _kind(obj: object) -> str:
    if inspect.isclass(obj):
        return "class"
    if callable(obj):
        return "function"
    return "data"


def write_pages(out: Path, package: str = PACKAGE) -> int:
    """Write ``out/index.rst`` and one page per public module; return the number of API entries."""
    out.mkdir(parents=True, exist_ok=True)
    pages = public_objects(package)
    owner_of = {id(o): (m, n) for m, objs in pages.items() for n, o in objs}
    entries = 0
    toc = []
    for modname, objs in pages.items():
        mod = importlib.import_module(modname)
        lines = [f".. automodule:: {modname}", "   :no-members:", "",
                 f".. currentmodule:: {modname}", ""]
        title = modname
        lines = [title, "=" * len(title), ""] + lines
        by_kind: dict[str, list[str]] = {}
        for name, obj in objs:
            by_kind.setdefault(_kind(obj), []).append(name)
        for kind, heading in (("class", "Classes"), ("function", "Functions"), ("data", "Data")):
            if kind not in by_kind:
                continue
            lines += [heading, "-" * len(heading), "", ".. autosummary::", "   :toctree: generated/",
                      f"   :template: {kind}.rst", "   :nosignatures:", ""]
            lines += [f"   {n}" for n in by_kind[kind]] + [""]
            entries += len(by_kind[kind])
        again = []
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name)
            if inspect.ismodule(obj):
                again.append(f"* :mod:`{obj.__name__}`")
            elif id(obj) in owner_of and owner_of[id(obj)][0] != modname:
                m, n = owner_of[id(obj)]
                again.append(f"* ``{name}``: :py:obj:`{m}.{n}`")
        if again:
            lines += ["Also exported here", "-" * 18, ""] + again + [""]
        (out / f"{modname}.rst").write_text("\n".join(lines))
        toc.append(modname)
    index = ["API reference", "=============", "",
             f"Every name in the ``__all__`` of every public module ({entries} entries in {len(toc)} modules), "
             "generated from the docstrings.", "", ".. toctree::", "   :maxdepth: 1", ""]
    index += [f"   {m}" for m in toc]
    (out / "index.rst").write_text("\n".join(index) + "\n")
    return entries


def setup(app):
    """Write the pages now: Sphinx lists the source files before any ``builder-inited`` handler runs."""
    write_pages(Path(app.srcdir) / "api")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
