"""lamina.distributed.wire: messages between tasks round-trip exactly, without pickle."""

import numpy as np
import pytest

from lamina.distributed.wire import decode, encode


def test_arrays_scalars_numbers_and_containers_round_trip_exactly():
    message = {"sum": {"g": np.arange(6, dtype=np.float32).reshape(2, 3) / 7, "rows": 3,
                       "loss": np.float64(0.1) + np.float64(0.2), "half": np.float16(1.5)},
               "max": {"t": np.int64(4)}, 3: [None, True, "x", 1e-300, float("nan")],
               "shape": (2, 3), "empty": np.zeros((0, 4), np.int8)}
    back = decode(encode(message))
    assert back.keys() == message.keys() and back["shape"] == (2, 3)
    np.testing.assert_array_equal(back["sum"]["g"], message["sum"]["g"])
    assert back["sum"]["g"].dtype == np.float32 and back["sum"]["g"].flags.writeable
    assert back["sum"]["loss"] == message["sum"]["loss"] and type(back["sum"]["loss"]) is np.float64
    assert type(back["sum"]["half"]) is np.float16 and type(back["max"]["t"]) is np.int64
    assert back[3][:4] == [None, True, "x", 1e-300] and np.isnan(back[3][4])
    assert back["empty"].shape == (0, 4) and back["empty"].dtype == np.int8


def test_what_is_not_data_is_refused():
    with pytest.raises(TypeError, match="object arrays"):
        encode({"a": np.array([object()])})
    with pytest.raises(TypeError, match="cannot send set"):
        encode({1, 2})
