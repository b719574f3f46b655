import numpy as np
import pytest

from lamina import init
from lamina.errors import ConfigError


@pytest.mark.parametrize("name, fan_in, fan_out, bound, std", [
    ("glorot_uniform", 300, 200, np.sqrt(6 / 500), np.sqrt(2 / 500)),
    ("glorot_normal", 300, 200, None, np.sqrt(2 / 500)),
    ("he_uniform", 300, 200, np.sqrt(6 / 300), np.sqrt(2 / 300)),
    ("he_normal", 300, 200, None, np.sqrt(2 / 300)),
    ("lecun_uniform", 300, 200, np.sqrt(3 / 300), np.sqrt(1 / 300)),
    ("torch_uniform", 300, 200, 1 / np.sqrt(300), np.sqrt(1 / 900)),
])
def test_scale_follows_the_fans(name, fan_in, fan_out, bound, std):
    w = init.get(name)((400, 500), fan_in=fan_in, fan_out=fan_out, rng=0)
    assert w.dtype == np.float32 and w.shape == (400, 500)
    if bound is not None:
        assert np.abs(w).max() <= bound
    assert abs(w.std() - std) < 0.02 * std and abs(w.mean()) < 0.02 * std


def test_constants_aliases_dtype_and_errors():
    assert not init.zeros((2, 3)).any() and init.ones((2,), dtype=np.float64).dtype == np.float64
    assert init.get("kaiming_uniform") is init.he_uniform and init.get("xavier_normal") is init.glorot_normal
    assert init.get(init.zeros) is init.zeros
    np.testing.assert_array_equal(init.he_normal((3,), 4, rng=1), init.he_normal((3,), 4, rng=1))
    with pytest.raises(ConfigError, match="Unknown initialiser 'nope'"):
        init.get("nope")
