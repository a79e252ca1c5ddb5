"""Sphinx configuration of the proxgan site (``make docs`` builds it into ``docs/_build/html``).

The build is strict (``-W --keep-going -n`` in the Makefile): every warning fails it and
every cross-reference must resolve. Nothing is downloaded: references to torch, numpy,
scipy and scikit-learn are resolved by :mod:`_ext.external_refs` against the installed
packages, the API pages are written by :mod:`_ext.api_pages` from each public module's
``__all__``, and the gallery runs on shipped or synthetic data only.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# `python -m sphinx` from the repository root puts the root on sys.path, where the folder
# kernels/ would shadow an installed package of that name (Hugging Face's optional one):
# proxgan itself is imported from its installation.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE.parent]
sys.path.insert(0, str(HERE))

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

project = "proxgan"
author = "the proxgan developers"
copyright = "2026, the proxgan developers"
try:
    from importlib.metadata import version as _version

    release = _version("proxgan")
except Exception:  # noqa: BLE001 - a checkout that is not installed
    release = "0.1.0"
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "_ext.api_pages",
    "_ext.external_refs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "**/*.ipynb", "**/*.py", "**/*.md5", "**/*.zip", "**/*.pickle",
                    "auto_examples/*.json", "auto_examples/*.codeobj.json"]
templates_path = ["_templates"]
nitpicky = True
# Names that are not Python objects in any inventory: the conventions numpydoc uses in
# "Parameters" types when they are cross-referenced by hand.
nitpick_ignore_regex = [
    (r"py:.*", r"(optional|array-like|array_like|callable|default.*|of|or|shape.*|\.\.\.)"),
]

# ---- autodoc / autosummary / numpydoc -------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"          # types are in the numpydoc "Parameters" sections
autodoc_default_options = {"members": False, "inherited-members": False}
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = True

# ---- myst (the Markdown user-guide pages) ---------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

# ---- sphinx-gallery ---------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": [str(HERE.parent / "examples")],
    "gallery_dirs": [str(HERE / "auto_examples")],
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"(sparse_tables|__init__)\.py",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": "True",
    "abort_on_example_error": True,
    "show_memory": False,
    "min_reported_time": 1,
    "parallel": 2,  # examples run in two processes (CI's 2 cores)
}

# ---- HTML -------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "proxgan"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
}
html_static_path: list[str] = []
html_show_sourcelink = False
