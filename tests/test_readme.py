"""Every ```python block of README.md runs, in order, in one namespace (so the README cannot rot),
and every relative link of the README leads to a file of the repository.

The README is an overview; the user guide's snippets live on the documentation site, where
tests/docs/test_snippets.py runs them. The MNIST-family and CIFAR loaders are replaced by
synthetic arrays of the real shapes and dtypes: the snippets show the real calls, the tests
need no network.
"""

import pathlib
import re

import numpy as np
import pytest

import lamina.datasets

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def fake_loader(n_train, n_test, image_shape):
    def load(path=None, download=True):
        rng = np.random.default_rng(0)
        labels = np.array([5, 0, 4, 1, 9], dtype=np.uint8)
        return tuple((np.zeros((n,) + image_shape, np.uint8),
                      np.resize(labels, n) if n == n_train else rng.integers(0, 10, n).astype(np.uint8))
                     for n in (n_train, n_test))
    return load


@pytest.mark.slow
def test_readme_python_blocks_run(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(lamina.datasets, "load_mnist", fake_loader(60000, 10000, (28, 28)))
    monkeypatch.setattr(lamina.datasets, "load_fashion_mnist", fake_loader(60000, 10000, (28, 28)))
    monkeypatch.setattr(lamina.datasets, "load_cifar10", fake_loader(50000, 10000, (3, 32, 32)))
    blocks = python_blocks()
    assert blocks
    namespace = {"__name__": "readme"}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"README.md block {i}", "exec"), namespace)
        except Exception as error:
            raise AssertionError(f"README python block {i} failed:\n{block}") from error
    assert set(namespace["history"].history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}


GENERATED = ("docs/api/",)  # written by the site's build (docs/_ext/lamina_api.py)


def relative_links(text):
    """The targets of the README's Markdown links that are paths in the repository."""
    return [target.split("#")[0] for target in re.findall(r"\]\(([^)\s]+)\)", text)
            if not target.startswith(("http://", "https://", "#"))]


def test_relative_links_lead_to_files():
    links = relative_links(README.read_text(encoding="utf-8"))
    assert "docs/guide/training.rst" in links
    missing = [link for link in links if not link.startswith(GENERATED)
               and not (README.parent / link).is_file()]
    assert missing == []
    assert relative_links("[a](docs/x.rst#s) [b](https://e.org) [c](#d)") == ["docs/x.rst"]


def test_quickstart_has_exactly_the_two_commands():
    quickstart = README.read_text(encoding="utf-8").split("## Quickstart", 1)[1]
    commands = re.search(r"```sh\n(.*?)```", quickstart, re.S).group(1).strip().splitlines()
    assert commands == ["pip install . && python -m lamina.examples.digits",
                        'pip install ".[test]" && python -m pytest']


def test_the_user_guide_links_every_guide_page():
    index = (README.parent / "docs" / "guide" / "index.rst").read_text(encoding="utf-8")
    pages = re.findall(r"^   (\w+)$", index.split(".. toctree::", 1)[1], re.M)
    text = README.read_text(encoding="utf-8")
    guide = text.split("## User guide", 1)[1].split("\n## ", 1)[0]
    elsewhere = {"spark", "compat", "performance", "threads"}  # from their own README sections
    assert "training" in pages
    for page in pages:
        assert f"(docs/guide/{page}.rst" in (text if page in elsewhere else guide), page

