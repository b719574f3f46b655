import numpy as np
import pytest

from lamina.data.sources import array_source, npy_source
from lamina.errors import ConfigError, ShapeError


def test_arrays_are_kept_and_lists_converted():
    x = np.arange(12.0).reshape(6, 2)
    source = array_source(x, [0, 1, 0, 1, 0, 1])
    assert source.element[0] is x and source.examples == 6
    np.testing.assert_array_equal(source.gather(np.array([5, 0]))[1], [1, 0])
    assert len(array_source(x, None, np.ones(6)).element) == 3


@pytest.mark.parametrize("x, y, match", [
    (np.zeros((4, 2)), np.zeros(5), "same number of examples. Received: x 4, y 5"),
    ((np.zeros((4, 2)), np.zeros((3, 2))), None, "Received: x 4, x 3"),
    (np.zeros((0, 2)), None, "at least one example"),
    (np.float32(1.0), None, "a scalar"),
])
def test_bad_arrays_are_refused_naming_what_differs(x, y, match):
    with pytest.raises(ShapeError, match=match):
        array_source(x, y)


def test_npy_files_nest_as_their_paths_and_fingerprint_by_their_bytes(tmp_path):
    for name, array in {"a": np.ones((4, 2)), "b": np.zeros((4, 3)), "y": np.arange(4)}.items():
        np.save(tmp_path / f"{name}.npy", array)
    mapped = npy_source(({"a": tmp_path / "a.npy", "b": tmp_path / "b.npy"}, tmp_path / "y.npy"))
    x, y = mapped.gather(np.array([3, 1]))
    assert set(x) == {"a", "b"} and x["b"].shape == (2, 3)
    np.testing.assert_array_equal(y, [3, 1])
    loaded = npy_source((tmp_path / "a.npy", tmp_path / "y.npy"), mmap=False)
    assert loaded.files is None and isinstance(loaded.element[0], np.ndarray)
    before = mapped.fingerprint()
    assert before == npy_source(({"a": tmp_path / "a.npy", "b": tmp_path / "b.npy"},
                                 tmp_path / "y.npy")).fingerprint()
    np.save(tmp_path / "y.npy", np.arange(4) + 1)
    assert npy_source(({"a": tmp_path / "a.npy", "b": tmp_path / "b.npy"},
                       tmp_path / "y.npy")).fingerprint() != before


def test_npy_paths_are_checked():
    with pytest.raises(ConfigError, match="paths as \\(x, y\\[, sample_weight\\]\\)"):
        npy_source(("a", "b", "c", "d"))
    with pytest.raises(ConfigError, match="file paths .* Received: 3"):
        npy_source(("a.npy", 3))
