"""Channel shuffle (ShuffleNet), as torch.nn.ChannelShuffle."""

import numpy as np

from lamina.errors import ConfigError, ShapeError
from lamina.functional.checks import check_dout, check_float, is_int


def _shuffle(array, groups, dtype):
    """out viewed as (N, C/g, g, ...) = array viewed as (N, g, C/g, ...), axes 1 and 2 swapped."""
    n, channels, rest = array.shape[0], array.shape[1], array.shape[2:]
    out = np.empty(array.shape, dtype)
    out.reshape((n, channels // groups, groups) + rest)[...] = (
        array.reshape((n, groups, channels // groups) + rest).swapaxes(1, 2))
    return out


def channel_shuffle_forward(x, groups):
    """ShuffleNet's channel shuffle, as torch.nn.ChannelShuffle: x (N, C, *) -> out like x.

    Channels read as a (groups, C/groups) grid are transposed:
    out[:, k*groups + g] = x[:, g*(C/groups) + k]. Backward applies the inverse permutation
    (the shuffle with C/groups groups).

    >>> channel_shuffle_forward(np.arange(6.0).reshape(1, 6, 1), 2)[0].ravel()
    array([0., 3., 1., 4., 2., 5.])
    """
    op = "channel_shuffle_forward"
    x = check_float(op, x=x)
    if x.ndim < 3:
        raise ShapeError(f"{op} expects x with at least 3 dimensions (N, C, *). "
                         f"Received: x.shape={x.shape}")
    if not is_int(groups) or groups < 1 or x.shape[1] % groups:
        raise ConfigError(f"{op} expects groups as an int >= 1 dividing the {x.shape[1]} "
                          f"channels. Received: groups={groups!r}, x.shape={x.shape}")
    return _shuffle(x, int(groups), x.dtype), (x.shape, x.dtype, int(groups))


def channel_shuffle_backward(dout, cache):
    """dx like x: the inverse shuffle of dout, dx[:, g*(C/groups) + k] = dout[:, k*groups + g]."""
    x_shape, x_dtype, groups = cache
    dout = check_dout("channel_shuffle_backward", dout, x_shape)
    return _shuffle(dout, x_shape[1] // groups, x_dtype)
