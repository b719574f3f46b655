"""Embedding: a table lookup, out[n, t] = weight[ids[n, t]], and its scatter-add gradient."""

import numpy as np

from lamina.errors import DTypeError, LabelError
from lamina.functional.checks import check_dout, check_float, check_rank
from lamina.functional.labels import offenders


def check_indices(op, ids, num_embeddings, name="ids"):
    """ids as an integer NumPy array with every id in [0, num_embeddings), else a clear error.

    Float ids are a DTypeError (a float id is never exact; convert with astype(int) when the
    values are whole), ids out of range a LabelError naming the first offenders and the size.
    """
    if isinstance(ids, (list, tuple)):
        ids = np.asarray(ids)
    if not isinstance(ids, np.ndarray) or ids.dtype.kind not in "iu":
        received = f"{name}.dtype={ids.dtype}" if isinstance(ids, np.ndarray) else type(ids).__name__
        raise DTypeError(f"{op} expects {name} as an integer array of token ids (int32 or int64; "
                         f"convert whole-number floats with "
                         f"{name}.astype(np.int64)). "
                         f"Received: {received}")
    outside = (ids < 0) | (ids >= num_embeddings)
    if np.any(outside):
        raise LabelError(f"{op} expects token ids in [0, {num_embeddings}) for a table of "
                         f"num_embeddings={num_embeddings} rows. "
                         f"Received: {offenders(name, ids, outside, 'ids')}")
    return ids


def embedding_forward(ids, weight, padding_idx=None):
    """Look up each id's row of the table.

    ids: integer (N, ...) in [0, V); weight: (V, D) -> out: (N, ..., D), out[..., :] =
    weight[ids[...]]. padding_idx: an id whose row receives no gradient (as PyTorch's).

    >>> embedding_forward(np.array([[1, 0]]), np.array([[0.0, 1.0], [2.0, 3.0]]))[0]
    array([[[2., 3.],
            [0., 1.]]])
    """
    op = "embedding_forward"
    weight = check_float(op, weight=weight)
    check_rank(op, "weight", weight, 2, "(num_embeddings, embedding_dim)")
    ids = check_indices(op, ids, weight.shape[0])
    return weight[ids], (ids, weight.shape, weight.dtype, padding_idx)


def embedding_backward(dout, cache):
    """dweight (V, D): dweight[v] = sum of dout[p] over the positions p where ids[p] == v.

    Each position p read row ids[p] once (out[p] = weight[ids[p]], so d out[p] / d weight[v]
    is the identity where ids[p] == v and zero elsewhere): a row read k times gets k gradients
    added. A scatter-add without np.add.at: sort the positions by id, then add each id's run of
    rows in one np.add.reduceat. The padding row stays zero.
    """
    ids, weight_shape, dtype, padding_idx = cache
    dout = check_dout("embedding_backward", dout, ids.shape + weight_shape[1:])
    flat_ids = ids.reshape(-1)
    rows = dout.reshape(-1, weight_shape[1])
    dweight = np.zeros(weight_shape, dtype)
    if flat_ids.size == 0:
        return dweight
    order = np.argsort(flat_ids, kind="stable")
    sorted_ids = flat_ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    dweight[sorted_ids[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    if padding_idx is not None:
        dweight[padding_idx] = 0
    return dweight

