"""The site builds with no warning, its reference holds every public name, its gallery every
example, and its equations render in a real browser."""

import importlib
import inspect
import pathlib
import shutil
import subprocess

import pytest

from tests.docs.conftest import DOCS, SCREENSHOTS, docs_extension

pytestmark = pytest.mark.docs


def documented_objects(html):
    """{dotted name: role} of every Python object in the built site's inventory."""
    from sphinx.util.inventory import InventoryFile

    with open(html / "objects.inv", "rb") as stream:
        inventory = InventoryFile.load(stream, "", lambda base, uri: uri)
    data = getattr(inventory, "data", inventory)  # Sphinx >= 8.2: an Inventory; before: a dict
    return {name: role for role, entries in data.items() if role.startswith("py:")
            for name in entries}


def resolve(dotted):
    """The object a documented dotted name stands for: attributes from the top package down,
    importing a submodule only where no attribute has that name (a function that shadows
    its own module, such as lamina.interpret.saliency, is the function)."""
    parts = dotted.split(".")
    target = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], 1):
        if hasattr(target, part):
            target = getattr(target, part)
        else:
            target = importlib.import_module(".".join(parts[:i + 1]))
    return target


def missing_names(documented):
    """Public names of lamina (each module's __all__, or the classes and functions it
    defines) that the reference documents neither under that name nor as the same object
    elsewhere."""
    api = docs_extension("lamina_api")
    objects = {id(resolve(name)) for name, role in documented.items()
               if role in ("py:class", "py:function", "py:exception", "py:method")}
    missing = [module for module in api.public_modules() if documented.get(module) != "py:module"
               and not (api.shadowed(module) and module in documented)]
    for module_name, entries in api.public_api().items():
        for name, value, _ in entries:
            dotted = f"{module_name}.{name}"
            if inspect.isclass(value) or inspect.isroutine(value):
                if id(value) not in objects:
                    missing.append(dotted)
            elif dotted not in documented:
                missing.append(dotted)
    return missing


def test_every_public_name_is_in_the_reference(built_site):
    documented = documented_objects(built_site)
    assert missing_names(documented) == []
    assert documented["lamina.functional.conv2d_forward"] == "py:function"
    assert documented["lamina.layers.Conv2D"] == "py:class"


def test_a_missing_name_is_caught(built_site):
    documented = documented_objects(built_site)
    del documented["lamina.functional.conv2d_forward"], documented["lamina.datasets"]
    assert missing_names(documented) == ["lamina.datasets", "lamina.functional.conv2d_forward",
                                         "lamina.functional.conv.conv2d_forward"]


def test_the_gallery_shows_every_example():
    examples = importlib.import_module("lamina.examples")
    gallery = (DOCS / "examples.rst").read_text(encoding="utf-8")
    names = docs_extension("lamina_api").public_modules()
    scripts = [name for name in names if name.startswith(examples.__name__ + ".")
               and hasattr(importlib.import_module(name), "main")]  # runner.py is shared code
    assert scripts
    for script in scripts:
        assert f".. automodule:: {script}\n" in gallery, script
        assert f"../{script.replace('.', '/')}.py" in gallery, script


def test_the_math_ships_with_the_site(built_site):
    page = (built_site / "layers" / "convolution.html").read_text(encoding="utf-8")
    assert '_static/mathjax/tex-chtml-full.js' in page
    assert "https://" not in page.split("<body")[0].replace("https://github.com", "")
    assert (built_site / "_static" / "mathjax" / "tex-chtml-full.js").stat().st_size > 10**6
    fonts = built_site / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2"
    assert (fonts / "MathJax_Main-Regular.woff").exists()
    assert "_modules/lamina/functional/conv.html" in page     # the link to the kernel's source


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(chromium() is None, reason="needs Chromium (CI installs Debian's chromium)")
def test_conv2d_page_renders_its_equations_in_chromium(built_site):
    page = (built_site / "layers" / "convolution.html").as_uri()
    flags = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--virtual-time-budget=20000", "--window-size=1200,1800"]
    dom = subprocess.run(flags + ["--dump-dom", page], capture_output=True, text=True,
                         timeout=180).stdout
    assert "<mjx-container" in dom, dom[-2000:]
    assert dom.count("<mjx-container") > 20
    assert "\\frac" not in dom and "\\mathrm" not in dom      # no equation left as raw TeX
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "convolution.png"
    shot.unlink(missing_ok=True)
    subprocess.run(flags + [f"--screenshot={shot}", page], capture_output=True, timeout=180)
    assert shot.stat().st_size > 50_000


def test_plain_text_docstrings_are_shown_verbatim():
    pytest.importorskip("docutils")  # the docs extra; the test extra alone skips this
    plain = docs_extension("plain_docstrings")
    assert plain.parses_cleanly("Shapes: ``(N, C)``, and\n\n    out = x * w\n")
    for text in ("sum of |x|", "see val_ here", "2 *x", "a:\n    b\nc"):
        assert not plain.parses_cleanly(text), text
    lines = ["loss = |x|", "", "  indented"]
    plain.keep_or_quote(None, "function", "f", None, {}, lines)
    assert lines == ["::", "", "   loss = |x|", "", "     indented", ""]
