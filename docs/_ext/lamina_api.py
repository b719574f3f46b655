"""The API reference, generated at build time from the package itself.

Every public module of lamina (no ``_`` in its dotted path) is documented under ``api/``, one
page per top-level module or package with its submodules as sections.
A module's public names are its ``__all__``, or else the classes and functions it defines
whose names do not start with ``_``. Each object is documented once, at the shallowest public
module that exports it (``lamina.layers.Conv2D``, not ``lamina.layers.conv.Conv2D``), so a
name added anywhere in the package appears in the reference without editing the docs.
"""

import importlib
import inspect
import pathlib
import pkgutil

import lamina

HERE = pathlib.Path(__file__).resolve().parent
API_DIR = HERE.parent / "api"


def public_modules():
    """Dotted names of lamina and of every public submodule, shallowest first."""
    names = ["lamina"] + [info.name for info in pkgutil.walk_packages(lamina.__path__, "lamina.")
                          if not any(part.startswith("_") for part in info.name.split("."))]
    return sorted(names, key=lambda name: (name.count("."), name))


def shadowed(module_name):
    """True when the parent package exports another object under the submodule's own name
    (``lamina.interpret.feature_maps``, the function, hides the module of that name): the
    dotted name then belongs to that object, and the module's section is not indexed."""
    parent, _, name = module_name.rpartition(".")
    if not parent:
        return False
    value = getattr(importlib.import_module(parent), name, None)
    return value is not None and value is not importlib.import_module(module_name)


def public_names(module):
    """The names `module` makes public: its __all__, or the classes and functions it defines."""
    exported = getattr(module, "__all__", None)
    if exported is not None:
        return list(exported)
    return sorted(name for name, value in vars(module).items()
                  if not name.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value))
                  and value.__module__ == module.__name__)


def public_api():
    """{module name: [(name, object, home)]}: home is the dotted name the object is documented
    under (the first module, shallowest first, that makes it public)."""
    homes, api = {}, {}
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        entries = []
        for name in public_names(module):
            value = getattr(module, name)
            if inspect.ismodule(value):
                continue  # a submodule has its own page
            key = id(value) if (inspect.isclass(value) or inspect.isroutine(value)) else None
            home = homes.setdefault(key, f"{module_name}.{name}") if key else f"{module_name}.{name}"
            entries.append((name, value, home))
        api[module_name] = entries
    return api


def _directive(value):
    if inspect.isclass(value):
        return "autoclass", ("   :members:\n",)
    if inspect.isroutine(value):
        return "autofunction", ()
    return "autodata", ("   :annotation:\n",)


def module_section(module_name, entries, underline):
    """The reST of one module's section: its docstring, then each name it is the home of."""
    lines = [module_name, underline * len(module_name), "", f".. automodule:: {module_name}",
             *(["   :no-index:"] if shadowed(module_name) else []), ""]
    own = [(name, value) for name, value, home in entries if home == f"{module_name}.{name}"]
    aliases = [(name, value, home) for name, value, home in entries
               if home != f"{module_name}.{name}" and home.rpartition(".")[0] == module_name]
    elsewhere = [(name, home) for name, value, home in entries
                 if home.rpartition(".")[0] != module_name]
    if elsewhere:
        lines += ["Also exported here: " + ", ".join(f":py:obj:`{name} <{home}>`"
                                                     for name, home in elsewhere) + ".", ""]
    for name, value in own:
        directive, options = _directive(value)
        lines += [f".. {directive}:: {module_name}.{name}", *[o.rstrip("\n") for o in options], ""]
    for name, value, home in aliases:  # a second name for an object documented above
        kind = "class" if inspect.isclass(value) else "function" if inspect.isroutine(value) else "data"
        lines += [f".. py:{kind}:: {name}", f"   :module: {module_name}", "",
                  f"   Another name for :py:obj:`{home}`.", ""]
    return "\n".join(lines) + "\n"


def page_of(module_name):
    """The page a module is documented on: lamina's top-level module or package holding it
    (one page per top-level name keeps the site's navigation small)."""
    return ".".join(module_name.split(".")[:2])


def write_reference(app=None):
    """Write api/<lamina.name>.rst for every top-level public module or package (its
    submodules as sections) and api/index.rst listing them."""
    API_DIR.mkdir(exist_ok=True)
    sections = {}
    for module_name, entries in public_api().items():
        underline = "=" if page_of(module_name) == module_name else "-"
        sections.setdefault(page_of(module_name), []).append(
            module_section(module_name, entries, underline))
    pages = {f"{page}.rst": "\n".join(texts) for page, texts in sections.items()}
    index = ["API reference", "=============", "",
             "Generated from the docstrings of every public module: each class and function "
             "is documented once, where the package exports it. A docstring that is plain "
             "text rather than reST is shown as written.", "",
             ".. toctree::", "   :maxdepth: 1", ""]
    index += [f"   {page}" for page in sections]
    pages["index.rst"] = "\n".join(index) + "\n"
    for stale in API_DIR.glob("*.rst"):
        if stale.name not in pages:
            stale.unlink()
    for name, text in pages.items():
        path = API_DIR / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


def setup(app):
    app.connect("builder-inited", write_reference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
