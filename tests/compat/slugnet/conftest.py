import pytest

import lamina
from tests.compat.harness import digits_as_mnist


@pytest.fixture
def fake_mnist(monkeypatch):
    """Replace lamina.datasets.load_mnist (what get_mnist reads) by `n` enlarged digits."""
    def install(n_train=120, n_test=40):
        monkeypatch.setattr(lamina.datasets, "load_mnist", digits_as_mnist(n_train, n_test))
    return install


@pytest.fixture(autouse=True)
def seeded():
    lamina.seed(0)
