"""Combining the shards' results in a fixed order, so that a run is reproducible bit for bit.

A shard's result is a dict {"sum": {name: array or number}, "max": {name: number}}; two
results combine by adding the "sum" entries and taking the larger "max" entries (an entry
one side lacks is taken from the other). Floating-point addition is not associative, so
the order is fixed: consecutive groups of `fan_in` results are each added left to right,
then the groups' results the same way, until one is left. Both engines use this same tree
(Spark adds the first level on executors when there are more than fan_in partitions).

>>> parts = [{"sum": {"g": np.array([1.0])}, "max": {"t": i}} for i in range(5)]
>>> total = tree_combine(parts, fan_in=2)
>>> total["sum"]["g"].tolist(), total["max"]["t"]
([5.0], 4)
"""

import numpy as np

__all__ = ["combine", "combine_group", "tree_combine", "groups"]


def combine(first, second):
    """first + second (see the module docstring); neither is changed."""
    result = {"sum": dict(first["sum"]), "max": dict(first["max"])}
    for name, value in second["sum"].items():
        mine = result["sum"].get(name)
        result["sum"][name] = value if mine is None else mine + value
    for name, value in second["max"].items():
        mine = result["max"].get(name)
        result["max"][name] = value if mine is None else max(mine, value)
    return result


def combine_group(results):
    """The results added left to right."""
    total = results[0]
    for result in results[1:]:
        total = combine(total, result)
    return total


def groups(count, fan_in):
    """[(first, stop)] of the consecutive groups of fan_in among count results."""
    return [(first, min(first + fan_in, count)) for first in range(0, count, fan_in)]


def tree_combine(results, fan_in):
    """All results combined in the fixed tree of the module docstring."""
    results = list(results)
    while len(results) > fan_in:
        results = [combine_group(results[first:stop]) for first, stop in groups(len(results),
                                                                                fan_in)]
    return combine_group(results)
