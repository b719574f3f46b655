"""conv2d and conv_transpose2d kernels: gradients, dtypes, purity, errors, hand-computed values."""

import numpy as np
import pytest

from lamina.errors import ConfigError, DTypeError, ShapeError
from lamina.functional import conv
from lamina.functional import windows as windows_module
from lamina.functional.conv import (
    conv2d_backward,
    conv2d_forward,
    conv_transpose2d_backward,
    conv_transpose2d_forward,
)
from lamina.functional.padding import pad2d_backward, pad2d_forward
from lamina.gradcheck import check_kernel, distinct_values

# (x shape, w shape, hyper, with bias); w is (F, C/groups, KH, KW)
CONV2D_CASES = {
    "plain": ((2, 3, 5, 5), (4, 3, 3, 3), {}, True),
    "odd-3x2-stride2-pad1": ((2, 3, 7, 6), (4, 3, 3, 2), dict(stride=2, padding=1), True),
    "stride3-pad-pair": ((1, 2, 8, 7), (3, 2, 2, 3), dict(stride=3, padding=(2, 1)), True),
    "dilation2": ((2, 2, 7, 7), (3, 2, 3, 3), dict(dilation=2, padding=2), True),
    "groups2-no-bias": ((2, 4, 5, 6), (6, 2, 3, 3), dict(padding=1, groups=2), False),
    "depthwise": ((2, 3, 6, 5), (3, 1, 3, 3), dict(stride=2, groups=3), True),
    "depthwise-x2": ((1, 2, 5, 5), (4, 1, 2, 2), dict(dilation=(2, 1), groups=2), True),
    "1x1-no-bias": ((3, 2, 3, 4), (5, 2, 1, 1), {}, False),
    "all-non-square": (
        (3, 4, 9, 8), (2, 2, 3, 2), dict(stride=(2, 3), padding=(1, 2), dilation=(2, 1), groups=2),
        True,
    ),
}

# padding="same" (Keras' rule, stride included), per-side padding and padding modes
PADDED_CASES = {
    "same-even-kernel": ((2, 3, 5, 6), (4, 3, 4, 2), dict(padding="same"), True),
    "same-stride2-even": ((2, 3, 7, 6), (4, 3, 4, 2), dict(stride=2, padding="same"), True),
    "same-stride3-groups": ((1, 4, 8, 7), (6, 2, 3, 2), dict(stride=3, padding="same", groups=2),
                            True),
    "same-dilation2": ((2, 2, 7, 6), (3, 2, 3, 2), dict(dilation=2, padding="same"), False),
    "valid": ((2, 2, 5, 6), (3, 2, 3, 3), dict(padding="valid", stride=2), True),
    "per-side": ((2, 3, 5, 6), (2, 3, 3, 2), dict(padding=((0, 2), (1, 0))), True),
    "per-side-stride2": ((1, 2, 7, 6), (3, 2, 3, 3), dict(stride=2, padding=((2, 0), (0, 1))),
                         True),
    "reflect-same": ((2, 2, 5, 6), (3, 2, 3, 4), dict(padding="same", padding_mode="reflect"),
                     True),
    "reflect-stride2": ((1, 3, 7, 6), (2, 3, 3, 3), dict(stride=2, padding=(2, 1),
                                                         padding_mode="reflect"), True),
    "replicate-dilation2": ((2, 2, 6, 5), (3, 2, 3, 2), dict(dilation=2, padding=(3, 1),
                                                             padding_mode="replicate"), False),
    "circular-groups": ((1, 4, 5, 4), (4, 2, 3, 3), dict(padding=((1, 2), (4, 0)), groups=2,
                                                         padding_mode="circular"), True),
    "circular-same-stride2": ((2, 2, 6, 7), (2, 2, 3, 2), dict(stride=2, padding="same",
                                                               padding_mode="circular"), True),
}

# w is (C, F/groups, KH, KW)
TRANSPOSE_CASES = {
    "plain": ((2, 3, 4, 4), (3, 2, 3, 3), {}, True),
    "3x2-stride2-pad1-outpad1": (
        (2, 2, 3, 4), (2, 3, 3, 2), dict(stride=2, padding=1, output_padding=1), True,
    ),
    "stride3-outpad-pair": (
        (1, 2, 3, 4), (2, 2, 2, 3), dict(stride=3, output_padding=(2, 1)), True,
    ),
    "dilation2-outpad1": ((2, 2, 4, 3), (2, 2, 3, 3), dict(dilation=2, output_padding=1), True),
    "groups2": ((2, 4, 3, 3), (4, 3, 3, 3), dict(padding=1, groups=2), True),
    "depthwise-no-bias": ((2, 3, 4, 3), (3, 1, 3, 3), dict(stride=2, groups=3), False),
    "all-non-square": (
        (3, 4, 3, 4), (4, 1, 3, 2),
        dict(stride=(2, 3), padding=(1, 2), output_padding=(1, 0), dilation=(1, 2), groups=2), True,
    ),
}


def _arrays(x_shape, w_shape, with_bias, bias_size, seed=0):
    rng = np.random.default_rng(seed)
    x = distinct_values(x_shape, rng)
    w = distinct_values(w_shape, rng)
    b = distinct_values((bias_size,), rng) if with_bias else None
    return x, w, b


@pytest.mark.parametrize("case", CONV2D_CASES.values(), ids=list(CONV2D_CASES))
def test_conv2d_gradcheck(case):
    x_shape, w_shape, hyper, with_bias = case
    arrays = _arrays(x_shape, w_shape, with_bias, w_shape[0])
    assert check_kernel(conv2d_forward, conv2d_backward, list(arrays), hyper)


@pytest.mark.parametrize("case", PADDED_CASES.values(), ids=list(PADDED_CASES))
def test_conv2d_padded_gradcheck(case):
    x_shape, w_shape, hyper, with_bias = case
    arrays = _arrays(x_shape, w_shape, with_bias, w_shape[0])
    assert check_kernel(conv2d_forward, conv2d_backward, list(arrays), hyper)


@pytest.mark.parametrize("hw, kernel, stride, dilation", [
    ((5, 6), (4, 2), (1, 1), (1, 1)), ((7, 6), (4, 2), (2, 2), (1, 1)),
    ((8, 7), (3, 2), (3, 3), (1, 1)), ((7, 6), (3, 2), (1, 1), (2, 2)),
    ((9, 4), (1, 1), (2, 3), (1, 1)), ((5, 5), (2, 3), (4, 1), (1, 3)),
])
def test_same_padding_is_explicit_per_side_padding(hw, kernel, stride, dilation, rng):
    """"same" = the per-side padding same_sides gives, out = ceil(H / stride)."""
    x = rng.standard_normal((1, 2) + hw)
    w = rng.standard_normal((3, 2) + kernel)
    out, _ = conv2d_forward(x, w, None, stride, "same", dilation)
    sides = tuple(windows_module.same_sides(hw[i], kernel[i], stride[i], dilation[i])
                  for i in range(2))
    explicit, _ = conv2d_forward(x, w, None, stride, sides, dilation)
    assert out.shape[2:] == tuple(-(-hw[i] // stride[i]) for i in range(2))
    np.testing.assert_array_equal(out, explicit)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_padding_mode_is_a_padded_input_then_valid(mode, rng):
    x, w, b = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 2)), None
    out, cache = conv2d_forward(x, w, b, stride=2, padding=((1, 2), (0, 1)), padding_mode=mode)
    padded, pad_cache = pad2d_forward(x, (0, 1, 1, 2), mode)
    expected, expected_cache = conv2d_forward(padded, w, b, stride=2)
    np.testing.assert_array_equal(out, expected)
    dout = rng.standard_normal(out.shape)
    np.testing.assert_allclose(conv2d_backward(dout, cache)[0],
                               pad2d_backward(conv2d_backward(dout, expected_cache)[0], pad_cache))


def test_zero_padding_never_calls_the_pad_kernel(monkeypatch):
    """Zero padding, per side or "same" too, is laid out by im2col itself: no padded copy."""
    monkeypatch.setattr(conv, "pad2d_forward", None)
    x, w, b = _arrays((1, 2, 5, 5), (3, 2, 3, 3), True, 3)
    for padding in (1, "same", ((0, 1), (2, 0))):
        conv2d_forward(x, w, b, padding=padding, padding_mode="zeros")


# padding="same" (Keras' Conv2DTranspose: output H * stride) and per side; w is (C, F/G, KH, KW)
PADDED_TRANSPOSE_CASES = {
    "same-stride2-odd": ((2, 3, 3, 4), (3, 2, 3, 3), dict(stride=2, padding="same"), True),
    "same-stride2-even": ((1, 2, 3, 3), (2, 3, 4, 2), dict(stride=2, padding="same"), True),
    "same-kernel-below-stride": ((2, 2, 3, 2), (2, 2, 2, 1), dict(stride=3, padding="same"),
                                 True),
    "same-dilation2-groups": ((1, 4, 3, 4), (4, 1, 3, 2), dict(padding="same", dilation=2,
                                                              groups=2), False),
    "per-side-stride2": ((2, 2, 3, 4), (2, 3, 3, 3), dict(stride=2, padding=((0, 2), (1, 0)),
                                                          output_padding=1), True),
}


@pytest.mark.parametrize("case", PADDED_TRANSPOSE_CASES.values(), ids=list(PADDED_TRANSPOSE_CASES))
def test_conv_transpose2d_padded_gradcheck(case):
    x_shape, w_shape, hyper, with_bias = case
    arrays = _arrays(x_shape, w_shape, with_bias, w_shape[1] * hyper.get("groups", 1))
    assert check_kernel(conv_transpose2d_forward, conv_transpose2d_backward, list(arrays), hyper)
    out, _ = conv_transpose2d_forward(*arrays, **hyper)
    if hyper["padding"] == "same":
        stride = np.broadcast_to(hyper.get("stride", 1), 2)
        assert out.shape[2:] == (x_shape[2] * stride[0], x_shape[3] * stride[1])


@pytest.mark.parametrize("name", ["same-stride2-odd", "same-stride2-even",
                                  "same-kernel-below-stride", "same-dilation2-groups"])
def test_same_transpose_is_the_adjoint_of_same_conv2d(name, rng):
    """<conv2d(x, w, "same"), y> == <x, conv_transpose2d(y, w, "same")> for x of H*s rows."""
    y_shape, w_shape, hyper, _ = PADDED_TRANSPOSE_CASES[name]
    w = rng.standard_normal(w_shape)
    y = rng.standard_normal(y_shape)
    back, _ = conv_transpose2d_forward(y, w, None, **hyper)
    x = rng.standard_normal(back.shape)
    out, _ = conv2d_forward(x, w, None, **hyper)
    assert out.shape == y.shape
    np.testing.assert_allclose(np.sum(out * y), np.sum(x * back), rtol=1e-12)


@pytest.mark.parametrize("case", TRANSPOSE_CASES.values(), ids=list(TRANSPOSE_CASES))
def test_conv_transpose2d_gradcheck(case):
    x_shape, w_shape, hyper, with_bias = case
    groups = hyper.get("groups", 1)
    arrays = _arrays(x_shape, w_shape, with_bias, w_shape[1] * groups)
    assert check_kernel(conv_transpose2d_forward, conv_transpose2d_backward, list(arrays), hyper)


def test_bias_none_gives_db_none():
    x, w, _ = _arrays((1, 2, 4, 4), (3, 2, 3, 3), False, 3)
    out, cache = conv2d_forward(x, w, None)
    assert conv2d_backward(np.ones_like(out), cache)[2] is None
    out, cache = conv_transpose2d_forward(x, w.transpose(1, 0, 2, 3), None)
    assert conv_transpose2d_backward(np.ones_like(out), cache)[2] is None


@pytest.mark.parametrize("case", CONV2D_CASES.values(), ids=list(CONV2D_CASES))
def test_transpose_is_adjoint_of_conv2d(case):
    """<conv2d(x, w), y> == <x, conv_transpose2d(y, w)> with output_padding restoring H, W."""
    x_shape, w_shape, hyper, _ = case
    x, w, _ = _arrays(x_shape, w_shape, False, 0)
    out, _ = conv2d_forward(x, w, None, **hyper)
    y = np.random.default_rng(1).standard_normal(out.shape)
    stride = np.broadcast_to(hyper.get("stride", 1), 2)
    padding = np.broadcast_to(hyper.get("padding", 0), 2)
    dilation = np.broadcast_to(hyper.get("dilation", 1), 2)
    extra = tuple(
        int((x_shape[2 + i] + 2 * padding[i] - dilation[i] * (w_shape[2 + i] - 1) - 1) % stride[i])
        for i in range(2)
    )
    back, _ = conv_transpose2d_forward(y, w, None, output_padding=extra, **hyper)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(out * y), np.sum(x * back), rtol=1e-12)


def test_conv2d_hand_computed():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    out, cache = conv2d_forward(x, w, np.array([0.5]), stride=2)
    # window at (0, 0) is [[0, 1], [4, 5]] -> 0*1 + 1*2 + 4*3 + 5*4 = 34; each step right +2
    # in every entry (+20 in total), each step down +8 (+80 in total)
    np.testing.assert_array_equal(out, [[[[34.5, 54.5], [114.5, 134.5]]]])
    dx, dw, db = conv2d_backward(np.ones_like(out), cache)
    np.testing.assert_array_equal(dx[0, 0], np.tile(w[0, 0], (2, 2)))
    # dw[p, q] sums x[2i + p, 2j + q] over the four windows
    np.testing.assert_array_equal(
        dw, [[[[0 + 2 + 8 + 10, 1 + 3 + 9 + 11], [4 + 6 + 12 + 14, 5 + 7 + 13 + 15]]]]
    )
    np.testing.assert_array_equal(db, [4.0])


def test_conv_transpose2d_hand_computed():
    x = np.array([[[[1.0, 2.0]]]])
    w = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    out, cache = conv_transpose2d_forward(x, w, None)
    # each input pixel stamps x * w at its position; the stamps overlap in the middle column
    np.testing.assert_array_equal(out, [[[[1.0, 2 + 2, 4.0], [3.0, 4 + 6, 8.0]]]])
    out, _ = conv_transpose2d_forward(x, w, np.array([-1.0]), stride=2, output_padding=1)
    np.testing.assert_array_equal(
        out, [[[[0.0, 1.0, 1.0, 3.0, -1.0], [2.0, 3.0, 5.0, 7.0, -1.0], [-1.0] * 5]]]
    )
    dx, dw, db = conv_transpose2d_backward(np.ones((1, 1, 2, 3)), cache)
    np.testing.assert_array_equal(dx, [[[[10.0, 10.0]]]])
    np.testing.assert_array_equal(dw, [[[[3.0, 3.0], [3.0, 3.0]]]])
    assert db is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("transpose", [False, True], ids=["conv2d", "conv_transpose2d"])
def test_dtype_preserved(dtype, transpose):
    forward, backward = (
        (conv_transpose2d_forward, conv_transpose2d_backward) if transpose
        else (conv2d_forward, conv2d_backward)
    )
    x, w, b = (a.astype(dtype) for a in _arrays((2, 4, 5, 5), (4, 2, 3, 3), True, 4))
    out, cache = forward(x, w, b, stride=2, padding=1, groups=2)
    assert out.dtype == dtype
    grads = backward(np.ones_like(out), cache)
    assert [g.dtype for g in grads] == [dtype] * 3
    assert all(g.flags.c_contiguous for g in (out,) + grads)


def test_mixed_dtypes_compute_in_result_type_and_keep_gradient_dtypes():
    x, w, b = _arrays((1, 2, 4, 4), (3, 2, 2, 2), True, 3)
    out, cache = conv2d_forward(x.astype(np.float32), w, b.astype(np.float32))
    assert out.dtype == np.float64
    dx, dw, db = conv2d_backward(np.ones_like(out), cache)
    assert (dx.dtype, dw.dtype, db.dtype) == (np.float32, np.float64, np.float32)


@pytest.mark.parametrize("transpose", [False, True], ids=["conv2d", "conv_transpose2d"])
def test_inputs_not_mutated(transpose):
    forward, backward = (
        (conv_transpose2d_forward, conv_transpose2d_backward) if transpose
        else (conv2d_forward, conv2d_backward)
    )
    arrays = _arrays((2, 4, 5, 5), (4, 2, 3, 3), True, 4)
    copies = [a.copy() for a in arrays]
    out, cache = forward(*arrays, stride=2, padding=1, groups=2)
    dout = np.random.default_rng(0).standard_normal(out.shape)
    dout_copy = dout.copy()
    backward(dout, cache)
    for array, copy in zip(arrays + (dout,), copies + [dout_copy]):
        np.testing.assert_array_equal(array, copy)


X, W = np.zeros((2, 4, 5, 5)), np.zeros((6, 2, 3, 3))

CONV2D_ERRORS = {
    "x-rank": (ShapeError,
               r"conv2d_forward expects x with 4 dimensions .*Received: x.shape=\(4, 5, 5\)",
               (X[0], W, None), {}),
    "w-rank": (ShapeError, r"expects w with 4 dimensions \(F, C/groups, KH, KW\)",
               (X, W[0], None), {}),
    "channels": (ShapeError,
                 r"w.shape\[1\] \* groups = 2 channels. Received: x.shape=\(2, 4, 5, 5\)",
                 (X, W, None), {}),
    "groups-divide": (ConfigError, r"divisible by groups. .*groups=4", (X, W[:, :1], None),
                      dict(groups=4)),
    "groups-zero": (ConfigError, r"groups as an int >= 1. Received: groups=0", (X, W, None),
                    dict(groups=0)),
    "bias": (ShapeError, r"b of shape \(6,\).*Received: b.shape=\(4,\)", (X, W, np.zeros(4)),
             dict(groups=2)),
    "int-x": (DTypeError, r"conv2d_forward expects x as a floating NumPy array \(float32 or "
              r"float64; convert with x.astype\(np.float32\)\). Received: x.dtype=int64",
              (X.astype(np.int64), W, None), dict(groups=2)),
    "list-of-ints-w": (DTypeError, r"expects w as a floating NumPy array .*Received: w.dtype=int64",
                       (X, W.astype(int).tolist(), None), dict(groups=2)),
    "none-w": (DTypeError, r"expects w as a floating NumPy array .*Received: NoneType",
               (X, None, None), dict(groups=2)),
    "float16-x": (DTypeError, r"expects x as a floating NumPy array .*Received: x.dtype=float16",
                  (X.astype(np.float16), W, None), dict(groups=2)),
    "window": (ShapeError, r"conv2d_forward expects a spatial size of at least 7x7 for its window .*x.shape=\(2, 4, 5, 5\)",
               (X, np.zeros((6, 2, 3, 3)), None), dict(groups=2, dilation=3)),
    "stride": (ConfigError, r"stride >= 1. Received: stride=0", (X, W, None),
               dict(groups=2, stride=0)),
    "padding": (ConfigError, r"padding >= 0", (X, W, None), dict(groups=2, padding=(1, -1))),
    "padding-word": (ConfigError, r"conv2d_forward expects padding as \"same\", \"valid\", an int"
                     r".*Received: padding='Same'", (X, W, None), dict(groups=2, padding="Same")),
    "padding-sides": (ConfigError, r"\(\(top, bottom\), \(left, right\)\).*Received: "
                      r"padding=\(\(1, 2, 3\), 0\)", (X, W, None),
                      dict(groups=2, padding=((1, 2, 3), 0))),
    "padding-mode": (ConfigError, r"conv2d_forward expects padding_mode as one of 'zeros', "
                     r"'reflect', 'replicate', 'circular'. Received: padding_mode='mirror'",
                     (X, W, None), dict(groups=2, padding_mode="mirror")),
    "reflect-too-wide": (ShapeError, r"conv2d_forward expects padding_mode='reflect' padding "
                         r"smaller than the input .*Received: x.shape=\(2, 4, 5, 5\)",
                         (X, W, None), dict(groups=2, padding=(5, 1), padding_mode="reflect")),
    "circular-too-wide": (ShapeError, r"padding_mode='circular' padding at most the input",
                          (X, W, None), dict(groups=2, padding=(1, 6), padding_mode="circular")),
}


@pytest.mark.parametrize("case", CONV2D_ERRORS.values(), ids=list(CONV2D_ERRORS))
def test_conv2d_errors(case):
    error, message, arrays, hyper = case
    with pytest.raises(error, match=message):
        conv2d_forward(*arrays, **hyper)


XT, WT = np.zeros((2, 4, 3, 3)), np.zeros((4, 3, 3, 3))

TRANSPOSE_ERRORS = {
    "channels": (ShapeError, r"conv_transpose2d_forward expects x with w.shape\[0\] = 3 channels. "
                 r"Received: x.shape=\(2, 4, 3, 3\)", (XT, WT[:3], None), {}),
    "groups-divide": (ConfigError, r"in channels divisible by groups. .*groups=3", (XT, WT, None),
                      dict(groups=3)),
    "bias": (ShapeError, r"b of shape \(6,\)", (XT, WT, np.zeros(3)), dict(groups=2)),
    "output-padding": (ConfigError, r"output_padding smaller than stride or dilation. Received: "
                       r"output_padding=\(2, 0\), stride=\(2, 2\)", (XT, WT, None),
                       dict(stride=2, output_padding=(2, 0))),
    "output-padding-stride1": (ConfigError, r"output_padding smaller", (XT, WT, None),
                               dict(output_padding=1)),
    "crop": (ShapeError, r"padding \(3, 3\) does not crop away entirely \(output -1x-1\)", (XT, WT, None),
             dict(padding=3)),
    "same-output-padding": (ConfigError, r"conv_transpose2d_forward expects output_padding 0 "
                            r"with padding \"same\", whose output is the input times the "
                            r"stride. Received: output_padding=\(1, 0\)", (XT, WT, None),
                            dict(padding="same", stride=2, output_padding=(1, 0))),
    "int-w": (DTypeError, r"expects w as a floating NumPy array .*Received: w.dtype=int32",
                             (XT.astype(np.float32), WT.astype(np.int32), None), {}),
}


@pytest.mark.parametrize("case", TRANSPOSE_ERRORS.values(), ids=list(TRANSPOSE_ERRORS))
def test_conv_transpose2d_errors(case):
    error, message, arrays, hyper = case
    with pytest.raises(error, match=message):
        conv_transpose2d_forward(*arrays, **hyper)


def test_output_padding_allowed_below_dilation():
    out, _ = conv_transpose2d_forward(XT, WT, None, output_padding=1, dilation=2)
    assert out.shape == (2, 3, 3 + 4 + 1, 3 + 4 + 1)


@pytest.mark.parametrize("transpose", [False, True], ids=["conv2d", "conv_transpose2d"])
def test_input_grad_false_skips_only_dx(transpose):
    forward, backward = (
        (conv_transpose2d_forward, conv_transpose2d_backward) if transpose
        else (conv2d_forward, conv2d_backward)
    )
    x, w, b = _arrays((2, 4, 5, 5), (4, 2, 3, 3), True, 4)
    out, cache = forward(x, w, b, stride=2, padding=1, groups=2)
    dout = np.random.default_rng(2).standard_normal(out.shape)
    dx, dw, db = backward(dout, cache)
    none, dw_only, db_only = backward(dout, cache, input_grad=False)
    assert none is None and dx is not None
    np.testing.assert_array_equal(dw_only, dw)
    np.testing.assert_array_equal(db_only, db)


# Geometries that take each path: stride-1 gradients from a full convolution (F <= 2C),
# col2im (F > 2C, strides, padding beyond the kernel), groups, dilation, transposed convolution.
CHUNKED_CASES = {
    "full-conv-dx": (False, (7, 4, 9, 8), (3, 4, 3, 3), dict(padding=1)),
    "col2im-dx": (False, (7, 2, 9, 8), (6, 2, 3, 2), dict(dilation=(2, 1), padding=(1, 0))),
    "strided-groups": (False, (7, 4, 9, 10), (4, 2, 3, 3),
                       dict(stride=(2, 3), padding=2, groups=2)),
    "wide-padding": (False, (5, 3, 6, 6), (2, 3, 2, 2), dict(padding=3)),
    "transpose": (True, (7, 4, 5, 6), (4, 3, 3, 2), dict(stride=2, padding=1, output_padding=1)),
}


@pytest.mark.parametrize("case", CHUNKED_CASES.values(), ids=list(CHUNKED_CASES))
def test_chunked_batches_match_the_whole_batch(case, monkeypatch):
    """Splitting the batch into chunks (and rebuilding im2col in backward) changes nothing."""
    transpose, x_shape, w_shape, hyper = case
    forward, backward = (
        (conv_transpose2d_forward, conv_transpose2d_backward) if transpose
        else (conv2d_forward, conv2d_backward)
    )
    bias_size = w_shape[1] * hyper.get("groups", 1) if transpose else w_shape[0]
    x, w, b = _arrays(x_shape, w_shape, True, bias_size)
    out, cache = forward(x, w, b, **hyper)
    dout = np.random.default_rng(3).standard_normal(out.shape)
    whole = (out,) + backward(dout, cache)
    monkeypatch.setattr(windows_module, "CHUNK_BYTES", 1)  # one image per chunk
    monkeypatch.setattr(conv, "KEEP_COLS_BYTES", 0)
    out, cache = forward(x, w, b, **hyper)
    chunked = (out,) + backward(dout, cache)
    for ours, expected in zip(chunked, whole):
        np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12)


def test_reused_buffers_never_alias_results():
    """Scratch buffers are reused between calls; nothing a call returns may live in them."""
    x, w, b = _arrays((3, 2, 6, 6), (2, 2, 3, 3), True, 2)
    out, cache = conv2d_forward(x, w, b, padding=1)
    grads = conv2d_backward(np.ones_like(out), cache)
    kept = [a.copy() for a in (out,) + grads]
    other_x, other_w, _ = _arrays((3, 2, 6, 6), (2, 2, 3, 3), False, 0, seed=5)
    other_out, other_cache = conv2d_forward(other_x, other_w, None, padding=1)
    conv2d_backward(other_out, other_cache)
    other_out, other_cache = conv_transpose2d_forward(other_x, other_w, None)
    conv_transpose2d_backward(other_out, other_cache)
    for array, copy in zip((out,) + grads, kept):
        np.testing.assert_array_equal(array, copy)
    # and backward after other calls still sees its own forward
    np.testing.assert_array_equal(conv2d_backward(np.ones_like(out), cache)[1], kept[2])


def test_float32_stays_float32_in_every_path(monkeypatch):
    monkeypatch.setattr(windows_module, "CHUNK_BYTES", 1)
    monkeypatch.setattr(conv, "KEEP_COLS_BYTES", 0)
    for _, x_shape, w_shape, hyper in CHUNKED_CASES.values():
        x, w, b = (a.astype(np.float32) for a in _arrays(x_shape, w_shape, True, w_shape[0]))
        if "output_padding" in hyper:
            continue
        out, cache = conv2d_forward(x, w, b, **hyper)
        grads = conv2d_backward(np.ones_like(out), cache)
        assert out.dtype == np.float32 and [g.dtype for g in grads] == [np.float32] * 3


@pytest.mark.parametrize("stride, padding", [(1, 1), (2, 1), (1, 0)])
def test_an_empty_batch_runs_forward_and_backward_with_zero_weight_gradients(stride, padding):
    x, b = np.zeros((0, 3, 8, 8)), np.ones(4)
    for forward, backward, w in ((conv2d_forward, conv2d_backward, np.ones((4, 3, 3, 3))),
                                 (conv_transpose2d_forward, conv_transpose2d_backward,
                                  np.ones((3, 4, 3, 3)))):
        out, cache = forward(x, w, b, stride, padding)
        dx, dw, db = backward(np.zeros(out.shape), cache)
        assert out.shape[:2] == (0, 4) and dx.shape == x.shape
        assert dw.shape == w.shape and not dw.any() and db.tolist() == [0.0] * 4
