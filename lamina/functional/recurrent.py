"""A recurrent layer over a whole sequence (one layer, one direction) and its BPTT.

x: (N, T, F) batch first. The input projection gx = x @ w_ih^T + b_ih of every step is one
matmul; the loop runs over the T time steps only (never over batch items), each step a
lamina.functional.recurrent_cells step. Backpropagation through time walks the steps in
reverse, collecting dgx and dgh for every step, so that the weight gradients are again one
matmul each: dw_ih = dgx^T x, dw_hh = dgh^T h_prev, over all N*T rows.

lengths (N,) gives padded batches the results of PyTorch's pack_padded_sequence: at the
steps t >= lengths[n] the state of row n does not change and its output is 0. The reverse
direction starts each row at its own last valid step (its state stays the initial one
until then), as PyTorch's reverse direction over a packed sequence.
"""

import numpy as np

from lamina.errors import ShapeError
from lamina.functional.checks import check_dout, check_float, check_rank
from lamina.functional.recurrent_cells import (check_mode, check_state, check_weights,
                                               fold_hidden_bias, step, step_backward)


def check_lengths(op, lengths, n, steps):
    """lengths as an int array (N,) with 1 <= lengths[n] <= T, or a clear error."""
    lengths = np.asarray(lengths)
    if lengths.dtype.kind not in "iu" or lengths.shape != (n,):
        raise ShapeError(f"{op} expects lengths as {n} integers, one per sequence of the batch. "
                         f"Received: lengths with shape {lengths.shape} and dtype {lengths.dtype}")
    bad = (lengths < 1) | (lengths > steps)
    if np.any(bad):
        first = int(np.argmax(bad))
        raise ShapeError(f"{op} expects every length in [1, T] = [1, {steps}] (x has T={steps} "
                         f"steps; an empty sequence has no output). Received: "
                         f"lengths[{first}]={int(lengths[first])} ({int(bad.sum())} of {n} bad)")
    return lengths


def recurrent_forward(x, state, w_ih, w_hh, b_ih, b_hh, mode="lstm", lengths=None,
                      reverse=False):
    """Run a cell over the sequence x: (N, T, F) -> out (N, T, H), final state, cache.

    state: the initial h (N, H), or (h, c) for mode "lstm"; mode: "rnn_tanh", "rnn_relu",
    "lstm" or "gru". Steps t = 0..T-1 (T-1..0 with reverse=True):

        state_t = step(gx_t, state_{t-1})  where t < lengths[n], else state_{t-1}
        out[:, t] = h_t where t < lengths[n], else 0

    The final state is (h_T,) or (h_T, c_T) after the last step (for each row its last valid
    step forward, step 0 in reverse), as torch's h_n.
    """
    op = "recurrent_forward"
    mode = check_mode(op, mode)
    x, w_ih, w_hh, b_ih, b_hh = check_float(op, optional=("b_ih", "b_hh"), x=x, w_ih=w_ih,
                                            w_hh=w_hh, b_ih=b_ih, b_hh=b_hh)
    check_rank(op, "x", x, 3, "(N, T, input_size)")
    n, steps, features = x.shape
    size = check_weights(op, mode, features, w_ih, w_hh, b_ih, b_hh)
    state = check_state(op, mode, state, n, size)
    if steps == 0:
        raise ShapeError(f"{op} expects at least one time step. Received: x.shape={x.shape}")
    valid = None
    if lengths is not None:
        lengths = check_lengths(op, lengths, n, steps)
        valid = (np.arange(steps)[:, None] < lengths[None, :])[..., None]  # (T, N, 1)
    gx = x.reshape(n * steps, features) @ w_ih.T
    if b_ih is not None:
        gx += b_ih
    gx = np.ascontiguousarray(gx.reshape(n, steps, w_ih.shape[0]).transpose(1, 0, 2))  # (T, N, G)
    gx, b_step = fold_hidden_bias(mode, gx, b_hh)
    w_hh_t = np.ascontiguousarray(w_hh.T)
    out = np.empty((steps, n, size), x.dtype)
    h_prev = np.empty((steps, n, size), x.dtype)
    caches = [None] * steps
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        h_prev[t] = state[0]
        new, caches[t] = step(mode, gx[t], state, w_hh_t, b_step)
        if valid is not None:
            new = tuple(np.where(valid[t], part, old) for part, old in zip(new, state))
            out[t] = new[0] * valid[t]
        else:
            out[t] = new[0]
        state = new
    cache = (mode, x, h_prev, w_ih, w_hh, b_ih is not None, b_hh is not None, valid, reverse,
             caches)
    return out.transpose(1, 0, 2), state, cache


def recurrent_backward(dout, cache, dstate=None):
    """BPTT: (dx (N, T, F), dstate0, dw_ih, dw_hh, db_ih, db_hh) for dout (N, T, H) and the
    final state's gradient dstate (a tuple like the state, None parts or None for zeros).

    dstate0 is the initial state's gradient, a tuple (dh0,) or (dh0, dc0). Backward through
    time, t = T-1..0 (0..T-1 with reverse=True), from dh_T = dstate:

        dh'_t = dh_t + dout[:, t],   (dgx_t, dgh_t, direct_t) = step_backward(dh'_t, ...)
        dh_{t-1} = dgh_t @ w_hh + direct_t,   dw_hh = sum_t dgh_t^T h_{t-1},   dx[:, t] = dgx_t @ w_ih

    (direct_t: GRU's dh'_t * z; LSTM's carries dc_{t-1} = dc_total * f). Where a step was
    padding, the state's gradient passes it unchanged and dout there counts for nothing.
    """
    mode, x, h_prev, w_ih, w_hh, has_b_ih, has_b_hh, valid, reverse, caches = cache
    n, steps, features = x.shape
    size = h_prev.shape[2]
    dout = check_dout("recurrent_backward", dout, (n, steps, size)).transpose(1, 0, 2)
    parts = 2 if mode == "lstm" else 1
    zeros = np.zeros((n, size), x.dtype)
    dstate = tuple(dstate) if isinstance(dstate, (tuple, list)) else (dstate,)
    dstate = tuple(zeros if d is None else check_dout("recurrent_backward", d, (n, size))
                   for d in dstate + (None,) * (parts - len(dstate)))
    gates = w_hh.shape[0]
    dgx_all = np.empty((steps, n, gates), x.dtype)
    dgh_all = dgx_all if mode != "gru" else np.empty((steps, n, gates), x.dtype)
    for t in (range(steps) if reverse else range(steps - 1, -1, -1)):
        dnew = (dstate[0] + dout[t],) + dstate[1:]
        passed = None
        if valid is not None:
            passed = tuple(np.where(valid[t], 0, d) for d in dstate)
            dnew = tuple(np.where(valid[t], d, 0) for d in dnew)
        out = dgx_all[t] if dgh_all is dgx_all else (dgx_all[t], dgh_all[t])
        _, dgh, direct = step_backward(mode, dnew, caches[t], out)
        dh = dgh @ w_hh
        if direct[0] is not None:
            dh += direct[0]
        dstate = (dh,) + direct[1:]
        if passed is not None:
            dstate = tuple(d + p for d, p in zip(dstate, passed))
    dgx_rows = dgx_all.transpose(1, 0, 2).reshape(n * steps, gates)
    dgh_rows = dgh_all.reshape(steps * n, gates)
    dx = (dgx_rows @ w_ih).reshape(n, steps, features)
    dw_ih = dgx_rows.T @ x.reshape(n * steps, features)
    dw_hh = dgh_rows.T @ h_prev.reshape(steps * n, size)
    db_ih = dgx_rows.sum(axis=0) if has_b_ih else None
    db_hh = dgh_rows.sum(axis=0) if has_b_hh else None
    return dx, dstate, dw_ih, dw_hh, db_ih, db_hh


