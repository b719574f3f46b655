"""Nested data: an example's x, y and sample weight may each be one array, a tuple or list
of arrays (one per input or output) or a dict of them by name, as fit takes them.

    leaves((x, {"digit": y1, "size": y2}, None))  -> [x, y1, y2]
    rebuild(template, arrays)                     -> the same nesting around new arrays

The leaves are listed depth first, dict entries in their insertion order; None holds none.
"""

__all__ = ["leaves", "rebuild", "take"]


def leaves(value):
    """The arrays inside `value` (an array, None, or tuples, lists and dicts of them)."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


def rebuild(template, arrays):
    """`template`'s nesting with its arrays replaced, in order, by `arrays` (an iterable)."""
    arrays = iter(arrays)

    def build(value):
        if value is None:
            return None
        if isinstance(value, dict):
            return {key: build(item) for key, item in value.items()}
        if isinstance(value, (tuple, list)):
            return type(value)(build(item) for item in value)
        return next(arrays)

    return build(template)


def take(value, index):
    """Every array inside `value` indexed by `index` (rows: a slice or an array of ints)."""
    return rebuild(value, (array[index] for array in leaves(value)))
