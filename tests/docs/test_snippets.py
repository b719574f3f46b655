"""Every ``.. code-block:: python`` of the site runs: each page's blocks in order, in one
namespace per page, as tests/test_readme.py runs the README's (with the MNIST-family and CIFAR
loaders replaced by synthetic arrays of the real shapes, so no network is needed)."""

import re

import pytest

import lamina.datasets
from tests.docs.conftest import DOCS
from tests.test_readme import fake_loader

pytestmark = pytest.mark.docs

# files a page's snippets must leave behind (the snippets that moved there from the README)
OUTPUTS = {"guide/callbacks.rst": ("best.lamina", "training.csv"),
           "guide/files.rst": ("digits.lamina",),
           "guide/deploy.rst": ("digits.onnx", "digits-int8.onnx"),
           "guide/training.rst": ("curves.png", "filters.png"),
           "guide/inspect.rst": ("monitor.png", "grad_cam.png", "saliency.png", "maps.png")}

BLOCK = re.compile(r"^\.\. code-block:: python\n((?:[ \t]*\n|   .*\n)+)", re.M)
INCLUDE = re.compile(r"^\.\. include:: (\S+)\n", re.M)


def page_source(page):
    """The page's reST with its ``.. include::`` files inlined."""
    return INCLUDE.sub(lambda match: (page.parent / match.group(1)).read_text(encoding="utf-8"),
                       page.read_text(encoding="utf-8"))


def python_blocks(text):
    """The code of each python code-block, dedented (options such as :caption: dropped)."""
    blocks = []
    for body in BLOCK.findall(text):
        lines = [line[3:] for line in body.splitlines()]
        while lines and (not lines[0].strip() or lines[0].startswith(":")):
            lines.pop(0)
        blocks.append("\n".join(lines).rstrip() + "\n")
    return blocks


def pages():
    return sorted((page for page in DOCS.rglob("*.rst")
                  if "_build" not in page.parts and "api" not in page.relative_to(DOCS).parts
                  and python_blocks(page_source(page))), key=str)


def test_blocks_are_found():
    text = "x\n\n.. code-block:: python\n   :caption: c\n\n   a = 1\n\n   b = a\n\ny\n"
    assert python_blocks(text) == ["a = 1\n\nb = a\n"]
    assert imported_packages(["import torch\nfrom lamina import layers\n   import os"]) == \
        ["lamina", "torch"]
    assert {page.stem for page in pages()} >= {"getting-started", "training", "convolution",
                                              "losses", "comparison"}


IMPORT = re.compile(r"^(?:import|from) (\w+)", re.M)


def imported_packages(blocks):
    """Top-level packages the blocks import (optional ones such as torch or keras included)."""
    return sorted({name for block in blocks for name in IMPORT.findall(block)})


@pytest.mark.parametrize("page", pages(), ids=lambda page: str(page.relative_to(DOCS)))
def test_page_code_blocks_run(page, tmp_path, monkeypatch):
    blocks = python_blocks(page_source(page))
    monkeypatch.setenv("KERAS_BACKEND", "torch")  # before keras is first imported
    pytest.importorskip("matplotlib")
    for package in imported_packages(blocks):  # the test and docs extras install them all
        pytest.importorskip(package)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(lamina.datasets, "load_mnist", fake_loader(60000, 10000, (28, 28)))
    monkeypatch.setattr(lamina.datasets, "load_fashion_mnist", fake_loader(60000, 10000, (28, 28)))
    monkeypatch.setattr(lamina.datasets, "load_cifar10", fake_loader(50000, 10000, (3, 32, 32)))
    namespace = {"__name__": "docs"}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"{page.name} block {i}", "exec"), namespace)
        except Exception as error:
            raise AssertionError(f"{page.relative_to(DOCS)}: python block {i} failed:\n{block}") \
                from error
    for name in OUTPUTS.get(page.relative_to(DOCS).as_posix(), ()):
        assert (tmp_path / name).is_file(), f"{page.relative_to(DOCS)} wrote no {name}"


def test_every_page_with_outputs_exists():
    assert all((DOCS / page).is_file() for page in OUTPUTS)
