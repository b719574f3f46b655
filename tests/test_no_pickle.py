"""No code path in lamina can unpickle: its source is scanned (as syntax trees, not text) for
pickle-family imports, allow_pickle=True, np.load without allow_pickle=False, and torch.load."""

import ast
from pathlib import Path

import pytest

import lamina

PICKLE_MODULES = {"pickle", "_pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve",
                  "joblib"}
SOURCES = sorted(Path(lamina.__file__).parent.rglob("*.py"))


def pickle_uses(source, filename="<source>"):
    """["file:line: what"] for every way `source` could unpickle."""
    found = []

    def report(node, what):
        found.append(f"{filename}:{node.lineno}: {what}")

    numpy_names, load_names = {"np", "numpy"}, set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PICKLE_MODULES:
                    report(node, f"import {alias.name}")
                if alias.name == "numpy":
                    numpy_names.add(alias.asname or "numpy")
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in PICKLE_MODULES:
                report(node, f"from {node.module} import ...")
            if node.module == "numpy":
                load_names |= {alias.asname or alias.name for alias in node.names
                               if alias.name == "load"}
        elif isinstance(node, ast.Call):
            function = node.func
            keywords = {keyword.arg: keyword.value for keyword in node.keywords}
            allow = keywords.get("allow_pickle")
            if "allow_pickle" in keywords and not (isinstance(allow, ast.Constant)
                                                   and allow.value is False):
                report(node, "allow_pickle other than a literal False")
            is_numpy_load = (isinstance(function, ast.Attribute) and function.attr == "load"
                             and isinstance(function.value, ast.Name)
                             and function.value.id in numpy_names) or (
                isinstance(function, ast.Name) and function.id in load_names)
            if is_numpy_load and "allow_pickle" not in keywords:
                report(node, "numpy.load without allow_pickle=False")
            if (isinstance(function, ast.Attribute) and function.attr == "load"
                    and isinstance(function.value, ast.Name) and function.value.id == "torch"):
                report(node, "torch.load")
            if (isinstance(function, ast.Name) and function.id == "__import__"
                    or isinstance(function, ast.Attribute) and function.attr == "import_module"):
                module = node.args[0] if node.args else None
                name = str(module.value) if isinstance(module, ast.Constant) else ""
                if name.split(".")[0] in PICKLE_MODULES:
                    report(node, f"dynamic import of {name}")
        elif isinstance(node, ast.Attribute) and "pickle" in node.attr.lower():
            report(node, f".{node.attr}")
    return found


def test_lamina_source_never_unpickles():
    assert len(SOURCES) > 50
    found = [use for path in SOURCES
             for use in pickle_uses(path.read_text(encoding="utf-8"), path.name)]
    assert found == []


@pytest.mark.parametrize("source", [
    "import pickle",
    "import cPickle as p",
    "import dill",
    "from marshal import loads",
    "import shelve",
    "from pickle import load as read",
    "import cloudpickle",
    "np.load(path)",
    "numpy.load(path, mmap_mode='r')",
    "import numpy as xp\nxp.load(path)",
    "from numpy import load\nload(path)",
    "np.load(path, allow_pickle=True)",
    "np.load(path, allow_pickle=flag)",
    "data.to_pickle(path)",
    "torch.load(path)",
    "importlib.import_module('pickle')",
    "__import__('marshal')",
], ids=lambda source: source.replace("\n", "; "))
def test_the_scan_finds_every_form(source):
    assert pickle_uses(source)


@pytest.mark.parametrize("source", [
    "np.load(path, allow_pickle=False)",
    "json.load(file)",
    "import numpy as np\nnp.savez(path, x=x)",
    "model.load_state_dict(state)",
])
def test_the_scan_lets_safe_code_pass(source):
    assert pickle_uses(source) == []
