import numpy as np

from lamina.data.structure import leaves, rebuild, take


def test_leaves_are_listed_depth_first_and_rebuild_puts_new_ones_in_their_place():
    a, b, c = np.zeros(3), np.ones(3), np.arange(3)
    element = (a, {"digit": b, "size": [c]}, None)
    assert [id(leaf) for leaf in leaves(element)] == [id(a), id(b), id(c)]
    rebuilt = rebuild(element, ["A", "B", "C"])
    assert rebuilt == ("A", {"digit": "B", "size": ["C"]}, None)
    assert type(rebuilt[1]["size"]) is list and leaves(None) == []


def test_take_indexes_every_array_alike():
    x, y = np.arange(10).reshape(5, 2), np.arange(5) * 10
    taken = take(({"a": x}, y), np.array([4, 0]))
    np.testing.assert_array_equal(taken[0]["a"], [[8, 9], [0, 1]])
    np.testing.assert_array_equal(taken[1], [40, 0])
