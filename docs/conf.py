"""Sphinx configuration of lamina's documentation site.

Build: ``pip install ".[docs]" && python -m sphinx -W -n -b html docs docs/_build/html``
(the README's Documentation section). Everything the pages need ships in this folder:
MathJax 3 is bundled in ``_static/mathjax``, so the math renders with no network at build or
view time.
"""

import pathlib
import posixpath
import sys

DOCS = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))
sys.path.insert(0, str(DOCS / "_ext"))

import lamina  # noqa: E402

project = "lamina"
author = "the lamina authors"
copyright = "the lamina authors (MIT licence)"
release = version = lamina.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "matplotlib.sphinxext.plot_directive",
    "lamina_api",
    "plain_docstrings",
    "markdown_table",
]
exclude_patterns = ["_build"]
html_theme = "furo"
html_title = f"lamina {release}"
html_static_path = ["_static"]

# MathJax 3 (the npm package's es5/tex-chtml-full.js and its woff-v2 fonts) ships with the site.
mathjax_path = "mathjax/tex-chtml-full.js"

nitpicky = True  # a broken cross-reference is a warning, and -W makes it an error
autodoc_typehints = "none"
autodoc_member_order = "bysource"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
plot_rcparams = {"figure.figsize": (7.5, 3.0), "figure.dpi": 100}


def _share_navigation_of_source_pages():
    """Furo renders the whole navigation tree for every page, and most of the build's time went
    there: viewcode writes a page per module (``_modules/...``), none of them in the toctree,
    so their trees differ only by the relative links, that is by folder. Compute it once per
    folder for those pages."""
    import furo

    compute = getattr(furo, "_compute_navigation_tree", None)
    if compute is None:
        return
    trees = {}

    def navigation_tree(context):
        page = context.get("pagename", "")
        if not page.startswith("_modules/"):
            return compute(context)
        folder = posixpath.dirname(page)
        if folder not in trees:
            trees[folder] = compute(context)
        return trees[folder]

    furo._compute_navigation_tree = navigation_tree


_share_navigation_of_source_pages()
