"""Every bad input a user can hand lamina, and the error it gets (lamina.validation and the
checks of every layer, kernel, loss, metric and model).

ROWS is a table of (bad input, call, error class, regex the message must match); each regex
names the layer, kernel, loss or model and both what was expected and what arrived. The
sweeps below it feed the same generic bad inputs (dtypes, None, empty batches, gradients of
the wrong shape, backward before forward) to every exported layer and every kernel.
"""

import re

import numpy as np
import pytest

import lamina
from lamina import functional as F
from lamina import layers as L
from lamina import losses, metrics, models
from lamina.errors import (ConfigError, DTypeError, LabelError, LaminaError, NonFiniteError,
                           ShapeError)
from lamina.validation import check_inputs, check_targets
from tests.layers.test_every_layer_saves import CASES as LAYER_CASES
from tests.layers.test_every_layer_saves import INDEX_INPUTS

X2 = np.ones((2, 3), np.float32)
X4 = np.ones((2, 3, 8, 8), np.float32)
LOGITS = np.array([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]])


def mlp(**compile_options):
    """Flatten - Linear(12, 5) - ReLU - Linear(5, 3), compiled with cross-entropy."""
    model = lamina.Sequential([L.Flatten(), L.Linear(12, 5), L.ReLU(), L.Linear(5, 3)])
    return model.compile(**{"loss": "cross_entropy", "optimizer": "sgd",
                            "metrics": ["accuracy"], **compile_options})


def fit(model, x, y, **options):
    return model.fit(x, y, epochs=1, batch_size=4, verbose=0, **options)


def after_forward(layer, x):
    layer.forward(x)
    return layer


XS = np.ones((6, 3, 2, 2), np.float32)
YS = np.array([0, 1, 2, 0, 1, 2])

ROWS = [
    # -- layers: rank, channels, features, spatial size --------------------------------------
    ("Conv2D: 3-D input", lambda: L.Conv2D(3, 4, 3, name="conv").forward(X4[0]), ShapeError,
     r"Conv2D 'conv' expects input with 4 dimensions \(N, C, H, W\). "
     r"Received: x.shape=\(3, 8, 8\)"),
    ("Conv2D: wrong channel count", lambda: L.Conv2D(1, 4, 3, name="conv").forward(X4),
     ShapeError, r"Conv2D 'conv' expects 1 channel on axis 1. Received: x.shape=\(2, 3, 8, 8\)"),
    ("Conv2D: image smaller than the kernel",
     lambda: L.Conv2D(3, 4, 5, name="conv").forward(X4[:, :, :3, :3]), ShapeError,
     r"Conv2D 'conv' expects a spatial size of at least 5x5 for its window \(kernel \(5, 5\), "
     r"dilation \(1, 1\), padding \(0, 0\)\). Received: x.shape=\(2, 3, 3, 3\)"),
    ("Conv2D: dilation makes the window too big",
     lambda: L.Conv2D(3, 4, 3, dilation=5, padding=1, name="conv").forward(X4), ShapeError,
     r"Conv2D 'conv' expects a spatial size of at least 9x9 .*dilation \(5, 5\), padding "
     r"\(1, 1\)\). Received: x.shape=\(2, 3, 8, 8\)"),
    ("ConvTranspose2D: padding crops the whole output",
     lambda: L.ConvTranspose2D(3, 2, 2, padding=2, name="up").forward(X4[:, :, :1, :1]),
     ShapeError, r"ConvTranspose2D 'up' expects an input that its padding \(2, 2\) does not crop "
                 r"away entirely \(output -2x-2\). Received: x.shape=\(2, 3, 1, 1\)"),
    ("SeparableConv2D: wrong channel count",
     lambda: L.SeparableConv2D(4, 8, 3, name="sep").forward(X4), ShapeError,
     r"SeparableConv2D 'sep' expects 4 channels on axis 1. Received: x.shape=\(2, 3, 8, 8\)"),
    ("DepthwiseConv2D: image smaller than the kernel",
     lambda: L.DepthwiseConv2D(3, 3, name="dw").forward(X4[:, :, :2, :2]), ShapeError,
     r"DepthwiseConv2D 'dw' expects a spatial size of at least 3x3 .*Received: "
     r"x.shape=\(2, 3, 2, 2\)"),
    ("Linear: wrong feature count", lambda: L.Linear(4, 2, name="fc").forward(X2), ShapeError,
     r"Linear 'fc' expects 4 input features per example. Received: x.shape=\(2, 3\) "
     r"\(3 features\)"),
    ("Linear: one value per example, (N,)", lambda: L.Linear(1, 2, name="fc").forward(X2[:, 0]),
     ShapeError, r"Linear 'fc' expects input \(N, d1, ..., dk\) with at least 2 dimensions. "
                 r"Received: x.shape=\(2,\)"),
    ("MaxPool2D: image smaller than the window",
     lambda: L.MaxPool2D(3, name="pool").forward(X4[:, :, :2, :2]), ShapeError,
     r"MaxPool2D 'pool' expects a spatial size of at least 3x3 .*Received: x.shape=\(2, 3, 2, 2\)"),
    ("MaxPool2D: padding over half the kernel", lambda: L.MaxPool2D(2, padding=2), ConfigError,
     r"MaxPool2D expects padding at most half the kernel size. Received: padding=\(2, 2\), "
     r"kernel_size=\(2, 2\)"),
    ("AvgPool2D: 2-D input", lambda: L.AvgPool2D(2, name="pool").forward(X2), ShapeError,
     r"AvgPool2D 'pool' expects input with 4 dimensions \(N, C, H, W\). "
     r"Received: x.shape=\(2, 3\)"),
    ("BatchNorm1D: wrong feature count", lambda: L.BatchNorm1D(4, name="bn").forward(X2),
     ShapeError, r"BatchNorm1D 'bn' expects 4 features on axis 1. Received: x.shape=\(2, 3\)"),
    ("BatchNorm2D: 2-D input", lambda: L.BatchNorm2D(3, name="bn").forward(X2), ShapeError,
     r"BatchNorm2D 'bn' expects input with 4 dimensions \(N, C, H, W\). "
     r"Received: x.shape=\(2, 3\)"),
    ("BatchNorm1D: one example in training", lambda: L.BatchNorm1D(3, name="bn").forward(X2[:1]),
     ShapeError, r"BatchNorm1D 'bn' needs more than one value per channel in training mode. "
                 r"Received: x.shape=\(1, 3\)"),
    ("LayerNorm: trailing axes differ", lambda: L.LayerNorm(4, name="ln").forward(X2), ShapeError,
     r"LayerNorm 'ln' expects input \(N, ..., 4\) ending in normalized_shape \(4,\). "
     r"Received: x.shape=\(2, 3\)"),
    ("GroupNorm: wrong channel count", lambda: L.GroupNorm(2, 4, name="gn").forward(X4),
     ShapeError, r"GroupNorm 'gn' expects 4 channels on axis 1. Received: x.shape=\(2, 3, 8, 8\)"),
    ("InstanceNorm2D: 1x1 planes", lambda: L.InstanceNorm2D(3, name="in").forward(X4[:, :, :1, :1]),
     ShapeError, r"InstanceNorm2D 'in' needs more than one spatial value per channel .*"
                 r"Received: x.shape=\(2, 3, 1, 1\)"),
    ("ChannelShuffle: channels not divisible", lambda: L.ChannelShuffle(2, name="cs").forward(X4),
     ShapeError, r"ChannelShuffle 'cs' expects input \(N, C, \*\) with C divisible by groups=2. "
                 r"Received: x.shape=\(2, 3, 8, 8\)"),
    ("Reshape: sizes do not match", lambda: L.Reshape((4,), name="rs").forward(X2), ShapeError,
     r"Reshape 'rs' cannot reshape examples of shape \(3,\) \(3 values\) to target_shape \(4,\)"),
    ("Softmax: axis 1 of a 1-D input", lambda: L.Softmax(name="sm").forward(X2[0]), ShapeError,
     r"Softmax 'sm': softmax_forward expects axis as an int in \[-1, 1\) for an input with 1 "
     r"dimensions. Received: axis=1, x.shape=\(3,\)"),
    ("ZeroPad2D: cropping everything", lambda: L.ZeroPad2D(-4, name="pad").forward(X4), ShapeError,
     r"ZeroPad2D 'pad' expects an input that its padding \(-4, -4, -4, -4\) \(left, right, top, "
     r"bottom\) does not crop away entirely. Received: x.shape=\(2, 3, 8, 8\)"),
    ("MaxUnpool2D: no indices", lambda: L.MaxUnpool2D(2, name="unpool").forward(X4), LaminaError,
     r"MaxUnpool2D 'unpool' needs the indices of MaxPool2D\(return_index=True\)"),
    ("Residual: block changes the shape",
     lambda: L.Residual(L.Conv2D(3, 4, 1), name="res").forward(X4), ShapeError,
     r"Residual 'res' adds the block output to the input \(identity shortcut\), so their shapes "
     r"must be equal. Received: block output \(2, 4, 8, 8\), shortcut output \(2, 3, 8, 8\)"),
    ("Concat: branches of different sizes",
     lambda: L.Concat([L.Conv2D(3, 2, 1), L.Conv2D(3, 2, 3)], name="cat").forward(X4), ShapeError,
     r"Concat 'cat' expects branch outputs equal on every axis but 1. Received: branch output "
     r"shapes \[\(2, 2, 8, 8\), \(2, 2, 6, 6\)\]"),
    # -- layers: values that are not float arrays -------------------------------------------
    ("Linear: int64 array", lambda: L.Linear(3, 2, name="fc").forward(X2.astype(np.int64)),
     DTypeError, r"Linear 'fc' expects x as a floating NumPy array \(float32 or float64; convert "
                 r"with x.astype\(np.float32\)\). Received: x.dtype=int64"),
    ("Linear: float16 array (refused: lamina computes in float32/float64)",
     lambda: L.Linear(3, 2, name="fc").forward(X2.astype(np.float16)), DTypeError,
     r"Linear 'fc' expects x as a floating NumPy array .*Received: x.dtype=float16"),
    ("Conv2D: complex array", lambda: L.Conv2D(3, 2, 1, name="conv").forward(X4.astype(complex)),
     DTypeError, r"Conv2D 'conv' expects x as a floating NumPy array \(float32 or float64\). "
                 r"Received: x.dtype=complex128"),
    ("ReLU: list of ints (converted as NumPy does, to int64)",
     lambda: L.ReLU(name="act").forward([[1, 2]]), DTypeError,
     r"ReLU 'act' expects x as a floating NumPy array .*Received: x.dtype=int64"),
    ("ReLU: ragged list", lambda: L.ReLU(name="act").forward([[1.0, 2.0], [3.0]]), ShapeError,
     r"ReLU 'act' expects x as an array of one shape; a ragged list cannot be one. "
     r"Received: a list of 2 items of different lengths"),
    ("Dropout: None", lambda: L.Dropout(0.5, name="drop").forward(None), DTypeError,
     r"Dropout 'drop' expects x as a floating NumPy array \(float32 or float64\). "
     r"Received: NoneType"),
    ("Flatten: dict", lambda: L.Flatten(name="flat").forward({}), DTypeError,
     r"Flatten 'flat' expects x as a floating NumPy array .*Received: dict"),
    ("Tanh: empty batch (N=0)", lambda: L.Tanh(name="act").forward(X2[:0]), ShapeError,
     r"Tanh 'act' expects a non-empty batch \(an empty batch has nothing to compute\). "
     r"Received: x.shape=\(0, 3\)"),
    # -- layers: backward --------------------------------------------------------------------
    ("Conv2D: backward before forward", lambda: L.Conv2D(3, 2, 1, name="conv").backward(X4),
     LaminaError, r"Conv2D 'conv': backward was called before forward. Run forward on the "
                  r"batch first."),
    ("Linear: dout of the wrong shape",
     lambda: after_forward(L.Linear(3, 4, name="fc"), X2).backward(np.ones((1, 4))), ShapeError,
     r"Linear 'fc': affine_backward expects dout of the forward output's shape \(2, 4\). "
     r"Received: dout.shape=\(1, 4\)"),
    ("BatchNorm2D: dout of the wrong shape",
     lambda: after_forward(L.BatchNorm2D(3, name="bn"), X4).backward(np.ones((2, 3))), ShapeError,
     r"BatchNorm2D 'bn' expects dout of the forward output's shape \(2, 3, 8, 8\). "
     r"Received: dout.shape=\(2, 3\)"),
    ("Flatten: dout transposed (same size)",
     lambda: after_forward(L.Flatten(name="flat"), X4).backward(np.ones((192, 2))), ShapeError,
     r"Flatten 'flat' expects dout of the forward output's shape \(2, 192\). "
     r"Received: dout.shape=\(192, 2\)"),
    ("ReLU: int dout", lambda: after_forward(L.ReLU(name="act"), X2).backward(np.ones((2, 3), int)),
     DTypeError, r"ReLU 'act': relu_backward expects dout as a floating NumPy array .*"
                 r"Received: dout.dtype=int64"),
    # -- nested containers name the path to the layer ----------------------------------------
    ("Conv2D inside Residual inside Sequential: wrong channels",
     lambda: lamina.Sequential([L.Conv2D(3, 8, 3, padding=1), L.Residual(lamina.Sequential([
         L.Conv2D(8, 8, 3, padding=1), L.ReLU(), L.Conv2D(4, 8, 3, padding=1)]))]).forward(X4),
     ShapeError, r"Conv2D 'conv2d_1' \(layer 1.block.2\) expects 4 channels on axis 1. "
                 r"Received: x.shape=\(2, 8, 8, 8\)"),
    ("ResNet: dout of the wrong shape reaches the last layer",
     lambda: (lambda net: (net.forward(np.ones((2, 1, 8, 8), np.float32)),
                           net.backward(np.ones((2, 9)))))(models.resnet_small(1)), ShapeError,
     r"Linear 'fc' \(layer 7\): affine_backward expects dout of the forward output's shape "
     r"\(2, 10\). Received: dout.shape=\(2, 9\)"),
    ("SEBlock: gate conv of the wrong width",
     lambda: models.SEBlock(8, 2).forward(np.ones((2, 6, 3, 3), np.float32)), ShapeError,
     r"Conv2D 'conv2d' \(layer 1.1\) expects 8 channels on axis 1. "
     r"Received: x.shape=\(2, 6, 1, 1\)"),
    # -- model build: the first pair that does not fit, before any step ------------------------
    ("build: Linear sized for the wrong flattened size",
     lambda: lamina.Sequential([L.Conv2D(1, 8, 3, padding=1), L.ReLU(), L.MaxPool2D(2),
                                L.Flatten(), L.Linear(784, 10)]).build((None, 1, 28, 28)),
     ShapeError,
     r"Linear 'linear' \(layer 4\) expects 784 input features per example, but Flatten 'flatten' "
     r"\(layer 3\) outputs shape \(None, 1568\) \(1568 features\); model input shape "
     r"\(None, 1, 28, 28\). Fix: Linear 'linear' \(layer 4\) with in_features=1568, or None to "
     r"infer it."),
    ("build: conv channels do not chain",
     lambda: lamina.Sequential([L.Conv2D(1, 8, 3), L.ReLU(), L.Conv2D(4, 8, 3)]).build(
         (None, 1, 28, 28)), ShapeError,
     r"Conv2D 'conv2d_1' \(layer 2\) expects 4 channels on axis 1, but ReLU 're_lu' \(layer 1\) "
     r"outputs shape \(None, 8, 26, 26\) \(8 channels\); model input shape \(None, 1, 28, 28\). "
     r"Fix: Conv2D 'conv2d_1' \(layer 2\) with in_channels=8, or None to infer it."),
    ("build: the model input has the wrong channel count",
     lambda: lamina.Sequential([L.Conv2D(3, 8, 3)]).build((None, 1, 28, 28)), ShapeError,
     r"Conv2D 'conv2d' \(layer 0\) expects 3 channels on axis 1, but the model input shape is "
     r"\(None, 1, 28, 28\) \(1 channel\). Fix: Conv2D 'conv2d' \(layer 0\) with in_channels=1"),
    ("build: pooling shrinks the image below the next kernel",
     lambda: lamina.Sequential([L.Conv2D(1, 8, 5), L.MaxPool2D(2), L.Conv2D(8, 8, 5)]).build(
         (None, 1, 8, 8)), ShapeError,
     r"Conv2D 'conv2d_1' \(layer 2\) expects a spatial size of at least 5x5 for its window .*, "
     r"but MaxPool2D 'max_pool2d' \(layer 1\) outputs shape \(None, 8, 2, 2\) \(spatial size "
     r"2x2\); model input shape \(None, 1, 8, 8\)."),
    ("build: a conv after Flatten",
     lambda: lamina.Sequential([L.Flatten(), L.Conv2D(1, 8, 3)]).build((None, 1, 8, 8)),
     ShapeError, r"Conv2D 'conv2d' \(layer 1\) expects input with 4 dimensions \(N, C, H, W\), "
                 r"but Flatten 'flatten' \(layer 0\) outputs shape \(None, 64\); model input "
                 r"shape \(None, 1, 8, 8\)."),
    ("build: BatchNorm2D of the wrong width",
     lambda: lamina.Sequential([L.Conv2D(1, 8, 3), L.BatchNorm2D(4)]).build((None, 1, 8, 8)),
     ShapeError, r"BatchNorm2D 'batch_norm2d' \(layer 1\) expects 4 channels on axis 1, but "
                 r"Conv2D 'conv2d' \(layer 0\) outputs shape \(None, 8, 6, 6\) .*Fix: BatchNorm2D "
                 r"'batch_norm2d' \(layer 1\) with num_features=8"),
    ("build: a misfit inside a Residual block",
     lambda: lamina.Sequential([L.Conv2D(1, 8, 3), L.Residual(lamina.Sequential([
         L.Conv2D(8, 8, 3, padding=1), L.Conv2D(4, 8, 3, padding=1)]))]).build((None, 1, 8, 8)),
     ShapeError, r"Conv2D 'conv2d_1' \(layer 1.block.1\) expects 4 channels on axis 1, but "
                 r"Conv2D 'conv2d' \(layer 1.block.0\) outputs shape \(None, 8, 6, 6\) "
                 r"\(8 channels\); model input shape \(None, 1, 8, 8\)"),
    ("build: the first layer of a Residual block does not fit the layer before it",
     lambda: lamina.Sequential([L.Conv2D(1, 8, 3), L.Residual(lamina.Sequential([
         L.Conv2D(3, 8, 3, padding=1)]))]).build((None, 1, 8, 8)), ShapeError,
     r"Conv2D 'conv2d' \(layer 1.block.0\) expects 3 channels on axis 1, but Conv2D 'conv2d' "
     r"\(layer 0\) outputs shape \(None, 8, 6, 6\)"),
    ("build: a Residual whose block changes the shape",
     lambda: lamina.Sequential([L.ReLU(), L.Residual(L.Conv2D(3, 4, 1), name="res")]).build(
         (None, 3, 5, 5)), ShapeError,
     r"Residual 'res' \(layer 1\) adds the block output to the input .*Received: block output "
     r"\(None, 4, 5, 5\), shortcut output \(None, 3, 5, 5\).* \(its input: ReLU 're_lu' "
     r"\(layer 0\) outputs shape \(None, 3, 5, 5\)\); model input shape \(None, 3, 5, 5\)."),
    ("fit: images of the wrong size for a built model",
     lambda: (lambda m: (fit(m, XS, YS), m.predict(np.ones((6, 3, 4, 4), np.float32))))(mlp()),
     ShapeError, r"Linear 'linear' \(layer 1\) expects 12 input features per example, but Flatten "
                 r"'flatten' \(layer 0\) outputs shape \(None, 48\) \(48 features\); model input "
                 r"shape \(None, 3, 4, 4\)"),
    ("fit: a misfit of a lazily built model, before the first step",
     lambda: fit(lamina.Sequential([L.Conv2D(1, 8, 3, padding=1), L.MaxPool2D(2), L.Flatten(),
                                    L.Linear(784, 10)]).compile(), np.ones((4, 1, 28, 28)),
                 np.zeros(4, int)), ShapeError,
     r"Linear 'linear' \(layer 3\) expects 784 input features per example, but Flatten "
     r"'flatten' \(layer 2\) outputs shape \(None, 1568\)"),
    ("LeNet5 for 28x28 given 8x8 images",
     lambda: models.LeNet5().predict(np.ones((2, 1, 8, 8), np.float32)), ShapeError,
     r"Conv2D 'conv2' \(layer 3\) expects a spatial size of at least 5x5 .*, but MaxPool2D "
     r"'max_pool2d' \(layer 2\) outputs shape \(None, 6, 4, 4\) \(spatial size 4x4\); model input "
     r"shape \(None, 1, 8, 8\)."),
    ("ResNet for 1 channel given RGB images",
     lambda: models.resnet_small(1).predict(np.ones((2, 3, 8, 8), np.float32)), ShapeError,
     r"Conv2D 'conv2d' \(layer 0\) expects 1 channel on axis 1, but the model input shape is "
     r"\(None, 3, 8, 8\) \(3 channels\). Fix: Conv2D 'conv2d' \(layer 0\) with in_channels=3"),
    # -- fit / evaluate / predict: the data -------------------------------------------------
    ("fit: y longer than x", lambda: fit(mlp(), XS, np.arange(7) % 3), LabelError,
     r"Sequential 'sequential'.fit expects y with one label per example of x \(y.shape\[0\] == "
     r"x.shape\[0\] == 6\). Received: y.shape=\(7,\)"),
    ("fit: empty batch (N=0)", lambda: fit(mlp(), XS[:0], YS[:0]), ShapeError,
     r"Sequential 'sequential'.fit expects a non-empty batch \(N >= 1 examples\). "
     r"Received: x.shape=\(0, 3, 2, 2\)"),
    ("predict: empty batch (N=0)", lambda: mlp().predict(XS[:0]), ShapeError,
     r"Sequential 'sequential'.predict expects a non-empty batch .*"
     r"Received: x.shape=\(0, 3, 2, 2\)"),
    ("fit: x is None", lambda: fit(mlp(), None, YS), DTypeError,
     r"Sequential 'sequential'.fit expects x as an array of numbers. Received: NoneType"),
    ("evaluate: x is a dict", lambda: mlp().evaluate({"x": XS}, YS), DTypeError,
     r"Sequential 'sequential'.evaluate expects x as an array of numbers. Received: dict"),
    ("fit: y is None", lambda: fit(mlp(), XS, None), LabelError,
     r"Sequential 'sequential'.fit expects y as an array of numbers. Received: NoneType"),
    ("fit: x as strings", lambda: fit(mlp(), XS.astype(str), YS), DTypeError,
     r"Sequential 'sequential'.fit expects x as an array of numbers \(bool, int or float\) "
     r"\(text: convert it with astype\(np.float32\)\). Received: x.dtype=<U32"),
    ("fit: complex x", lambda: fit(mlp(), XS.astype(complex), YS), DTypeError,
     r"Sequential 'sequential'.fit expects x as an array of numbers .*\(complex values: take "
     r".real or np.abs first\). Received: x.dtype=complex128"),
    ("fit: object array x", lambda: fit(mlp(), XS.astype(object), YS), DTypeError,
     r"Sequential 'sequential'.fit expects x as an array of numbers .*Received: x.dtype=object"),
    ("fit: ragged list x", lambda: fit(mlp(), [[1.0, 2.0], [1.0]], [0, 1]), ShapeError,
     r"Sequential 'sequential'.fit expects x as an array of one shape; a ragged list cannot be "
     r"one. Received: a list whose items differ in length"),
    ("fit: x of one dimension", lambda: fit(mlp(), np.ones(6), YS), ShapeError,
     r"Sequential 'sequential'.fit expects x as a batch \(N, ...\) of at least 2 dimensions "
     r"\(for one feature per example, x\[:, None\]; for one example, x\[None\]\). "
     r"Received: x.shape=\(6,\)"),
    ("fit: class names as labels", lambda: fit(mlp(), XS, np.array(list("abcabc"))), LabelError,
     r"Sequential 'sequential'.fit expects y as an array of numbers \(bool, int or float\) "
     r"\(class names: map them to ids, e.g. np.unique\(y, return_inverse=True\)\[1\]\). "
     r"Received: y.dtype=<U1"),
    ("fit: a label out of range in the last batch (checked before the first step)",
     lambda: fit(mlp(), np.ones((40, 3, 2, 2)), np.r_[np.zeros(39, int), 3]), LabelError,
     r"CrossEntropy expects class ids in \[0, 3\) \(or ignore_index=-100\) for the model's "
     r"outputs with 3 columns \(labels up to 3 need 4 output columns\). "
     r"Received: y\[39\]=3 \(1 of 40 labels\)"),
    ("fit: 1-based labels", lambda: fit(mlp(), XS, YS + 1), LabelError,
     r"CrossEntropy expects class ids in \[0, 3\) .*\(labels 1..3 look 1-based: pass y - 1\). "
     r"Received: y\[2\]=3, y\[5\]=3 \(2 of 6 labels\)"),
    ("evaluate: non-integral float labels", lambda: mlp().evaluate(XS, YS + 0.5), LabelError,
     r"CrossEntropy expects integer class ids \(whole numbers in \[0, 3\)\). "
     r"Received: y\[0\]=0.5, y\[1\]=1.5, y\[2\]=2.5, ... \(6 of 6 labels\)"),
    ("fit: one-hot rows one column too wide", lambda: fit(mlp(), XS, np.eye(4)[YS]), LabelError,
     r"CrossEntropy expects label rows of shape \(6, 3\), one column per class of the model's "
     r"outputs \(6, 3\). Received: y.shape=\(6, 4\)"),
    ("fit: NLL with soft rows", lambda: fit(mlp(loss="nll"), XS, np.full((6, 3), 1 / 3)),
     LabelError, r"NLL expects label rows to be one-hot \(a single 1 per row, 0 elsewhere\). "
                 r"Received: y\[0\]=\[0.333.*\] \(6 of 6 rows\)"),
    ("fit: hinge with a negative label", lambda: fit(mlp(loss="hinge"), XS, YS - 1), LabelError,
     r"Hinge expects class ids in \[0, 3\) for the model's outputs with 3 columns. "
     r"Received: y\[0\]=-1, y\[3\]=-1 \(2 of 6 labels\)"),
    ("fit: MSE target of the wrong shape", lambda: fit(mlp(loss="mse"), XS, np.zeros((6, 2))),
     LabelError, r"MSE expects a target of the same shape as the model's outputs \(6, 3\). "
                 r"Received: target.shape=\(6, 2\)"),
    ("fit: BCE targets outside [0, 1]",
     lambda: fit(mlp(loss="bce_with_logits"), XS, np.full((6, 3), 2.0)), LabelError,
     r"BCEWithLogits expects targets in \[0, 1\] \(0/1 labels or soft labels\). "
     r"Received: target\[0, 0\]=2.0, target\[0, 1\]=2.0, target\[0, 2\]=2.0, ... "
     r"\(18 of 18 labels\)"),
    ("fit: cross-entropy on a model without 2-D outputs",
     lambda: fit(lamina.Sequential([L.Conv2D(3, 2, 1)]).compile(), XS, YS), ShapeError,
     r"CrossEntropy expects the model to output class scores \(N, C\) or \(N, C, d1, ...\) "
     r"with labels \(N, d1, ...\). Received: output shape \(6, 2, 2, 2\)"),
    # -- loss kernels -----------------------------------------------------------------------
    ("softmax_cross_entropy: class id == C", lambda: F.softmax_cross_entropy(LOGITS, [0, 3]),
     LabelError, r"softmax_cross_entropy expects class ids in \[0, 3\) \(or ignore_index=-100\) "
                 r"for logits with 3 columns .*Received: y\[1\]=3 \(1 of 2 labels\)"),
    ("softmax_cross_entropy: negative class id", lambda: F.softmax_cross_entropy(LOGITS, [-1, 0]),
     LabelError, r"softmax_cross_entropy expects class ids in \[0, 3\) .*Received: y\[0\]=-1"),
    ("softmax_cross_entropy: NaN label",
     lambda: F.softmax_cross_entropy(LOGITS, np.array([0.0, np.nan])), LabelError,
     r"softmax_cross_entropy expects integer class ids .*Received: y\[1\]=nan \(1 of 2 labels\)"),
    ("softmax_cross_entropy: wrong number of labels",
     lambda: F.softmax_cross_entropy(LOGITS, [0, 1, 2]), LabelError,
     r"softmax_cross_entropy expects 2 labels, one per row of logits \(shape \(2, 3\)\). "
     r"Received: y.shape=\(3,\)"),
    ("softmax_cross_entropy: bool labels",
     lambda: F.softmax_cross_entropy(LOGITS, np.array([True, False])), LabelError,
     r"softmax_cross_entropy expects y as integer class ids \(N,\) or numeric rows \(N, C\) "
     r"\(use integer ids 0 and 1, e.g. y.astype\(int\)\). Received: y.dtype=bool"),
    ("softmax_cross_entropy: int logits",
     lambda: F.softmax_cross_entropy(LOGITS.astype(int), [0, 1]), DTypeError,
     r"softmax_cross_entropy expects logits as a floating NumPy array .*Received: "
     r"logits.dtype=int64"),
    ("softmax_cross_entropy: empty batch",
     lambda: F.softmax_cross_entropy(LOGITS[:0], np.zeros(0, int)), ShapeError,
     r"softmax_cross_entropy expects logits with N >= 1 rows and C >= 1 classes. "
     r"Received: logits.shape=\(0, 3\)"),
    ("cross_entropy_from_probs: logits passed as probabilities",
     lambda: F.cross_entropy_from_probs(LOGITS, [0, 1]), ConfigError,
     r"cross_entropy_from_probs expects probs in \[0, 1\] \(a Softmax output; for logits use "
     r"softmax_cross_entropy, or CrossEntropy\(from_logits=True\)\). Received: probs\[0, 1\]=2.0"),
    ("binary_cross_entropy: probabilities above 1",
     lambda: F.binary_cross_entropy(np.array([0.5, 1.5]), np.array([0, 1])), ConfigError,
     r"binary_cross_entropy expects probs in \[0, 1\] \(a Sigmoid output; for logits use "
     r"binary_cross_entropy_with_logits\). Received: probs\[1\]=1.5 \(1 of 2 values\)"),
    ("binary_cross_entropy: NaN probability",
     lambda: F.binary_cross_entropy(np.array([0.5, np.nan]), np.array([0, 1])), NonFiniteError,
     r"binary_cross_entropy expects probs in \[0, 1\] .*Received: probs\[1\]=nan"),
    ("binary_cross_entropy_with_logits: target 2",
     lambda: F.binary_cross_entropy_with_logits(np.zeros(2), np.array([0, 2])), LabelError,
     r"binary_cross_entropy_with_logits expects targets in \[0, 1\] \(0/1 labels or soft "
     r"labels\). Received: target\[1\]=2 \(1 of 2 labels\)"),
    ("mse_loss: target of the wrong shape", lambda: F.mse_loss(np.zeros((2, 3)), np.zeros(6)),
     LabelError, r"mse_loss expects a target of the same shape as pred \(2, 3\). "
                 r"Received: target.shape=\(6,\)"),
    ("kl_div_loss: negative target probability",
     lambda: F.kl_div_loss(np.zeros((1, 2)), np.array([[1.5, -0.5]])), LabelError,
     r"kl_div_loss expects target probabilities >= 0 \(pass log_target=True for "
     r"log-probabilities\). Received: target\[0, 1\]=-0.5 \(1 of 2 labels\)"),
    ("losses.CrossEntropy object: class id == C", lambda: losses.CrossEntropy()(LOGITS, [0, 3]),
     LabelError, r"softmax_cross_entropy expects class ids in \[0, 3\) .*Received: y\[1\]=3"),
    # -- metrics ----------------------------------------------------------------------------
    ("accuracy: class id == C", lambda: metrics.accuracy(LOGITS, [0, 3]), LabelError,
     r"accuracy expects class ids in \[0, 3\) for outputs with 3 columns .*"
     r"Received: y\[1\]=3 \(1 of 2 labels\)"),
    ("accuracy: non-integral labels", lambda: metrics.accuracy(LOGITS, [0.5, 1.0]), LabelError,
     r"accuracy expects integer class ids .*Received: y\[0\]=0.5"),
    ("accuracy: one-hot rows too wide", lambda: metrics.accuracy(LOGITS, np.eye(4)[[0, 1]]),
     LabelError, r"accuracy expects label rows of shape \(2, 3\), one column per class of "
                 r"outputs \(2, 3\). Received: y.shape=\(2, 4\)"),
    ("accuracy: wrong number of labels", lambda: metrics.accuracy(LOGITS, [0, 1, 2]), LabelError,
     r"accuracy expects 2 labels, one per row of outputs \(shape \(2, 3\)\). Received: "
     r"y.shape=\(3,\)"),
    ("accuracy: one output column", lambda: metrics.accuracy(LOGITS[:, :1], [0, 1]), ShapeError,
     r"accuracy expects outputs as numbers \(N, C\): class scores of N >= 1 rows and C >= 2 "
     r"columns .*Received: outputs of shape \(2, 1\) and dtype float64"),
    # -- kernels ----------------------------------------------------------------------------
    ("affine_forward: x is None", lambda: F.affine_forward(None, np.ones((3, 4)), None),
     DTypeError, r"affine_forward expects x as a floating NumPy array \(float32 or float64\). "
                 r"Received: NoneType"),
    ("conv2d_forward: image smaller than the kernel",
     lambda: F.conv2d_forward(np.ones((2, 3, 2, 2)), np.ones((4, 3, 3, 3)), None), ShapeError,
     r"conv2d_forward expects a spatial size of at least 3x3 for its window \(kernel \(3, 3\), "
     r"dilation \(1, 1\), padding \(0, 0\)\). Received: x.shape=\(2, 3, 2, 2\), "
     r"w.shape=\(4, 3, 3, 3\)"),
    ("conv2d_forward: float16 weights",
     lambda: F.conv2d_forward(np.ones((2, 3, 4, 4)), np.ones((4, 3, 3, 3), np.float16), None),
     DTypeError, r"conv2d_forward expects w as a floating NumPy array .*Received: w.dtype=float16"),
    ("batchnorm_forward: empty batch",
     lambda: F.batchnorm_forward(np.ones((0, 3)), np.ones(3), np.zeros(3), {"mode": "train"}),
     ShapeError, r"batchnorm_forward expects a non-empty batch \(statistics of no example are "
                 r"undefined\). Received: x.shape=\(0, 3\)"),
    ("batchnorm_forward: gamma is None",
     lambda: F.batchnorm_forward(np.ones((2, 3)), None, np.zeros(3), {"mode": "train"}),
     DTypeError, r"batchnorm_forward expects gamma as a floating NumPy array .*Received: NoneType"),
    ("relu_backward: dout of the wrong shape",
     lambda: F.relu_backward(np.ones((3, 2)), F.relu_forward(np.ones((2, 3)))[1]), ShapeError,
     r"relu_backward expects dout of the forward output's shape \(2, 3\). "
     r"Received: dout.shape=\(3, 2\)"),
    ("dropout_forward: p as a string", lambda: F.dropout_forward(X2, "0.5"), ConfigError,
     r"dropout_forward expects p as a finite real number in \[0, 1\]. Received: p='0.5'"),
    # -- validation helpers -----------------------------------------------------------------
    ("check_inputs: set", lambda: check_inputs("model.fit", {1, 2}), DTypeError,
     r"model.fit expects x as an array of numbers. Received: set"),
    ("check_targets: a scalar y", lambda: check_targets("model.fit", 3, 6), LabelError,
     r"model.fit expects y with one label per example of x \(y.shape\[0\] == x.shape\[0\] == 6\). "
     r"Received: y.shape=\(\)"),
]


@pytest.mark.parametrize("description, call, error, message", ROWS, ids=[row[0] for row in ROWS])
def test_bad_input_gets_a_clear_error(description, call, error, message):
    with pytest.raises(error, match=message) as caught:
        call()
    assert isinstance(caught.value, LaminaError)


def test_rows_cover_each_kind_of_error():
    kinds = {row[2] for row in ROWS}
    assert {ShapeError, DTypeError, LabelError, ConfigError, NonFiniteError} <= kinds
    assert len({row[0] for row in ROWS}) == len(ROWS)  # descriptions are unique


# -- every exported layer, the generic bad inputs ------------------------------------------------
GENERIC_BAD = {  # name -> (make x from a good input, error, what the message says arrived)
    "int64": (lambda x: x.astype(np.int64), DTypeError, r"x.dtype=int64"),
    "bool": (lambda x: x > 0, DTypeError, r"x.dtype=bool"),
    "complex": (lambda x: x.astype(np.complex64), DTypeError, r"x.dtype=complex64"),
    "object": (lambda x: x.astype(object), DTypeError, r"x.dtype=object"),
    "str": (lambda x: x.astype(str), DTypeError, r"x.dtype=<U\d+"),
    "float16": (lambda x: x.astype(np.float16), DTypeError, r"x.dtype=float16"),
    "None": (lambda x: None, DTypeError, r"NoneType"),
    "dict": (lambda x: {"x": x}, DTypeError, r"dict"),
    "empty batch": (lambda x: x[:0], ShapeError, r"x.shape=\(0,"),
}


def named_layer(name):
    """A fresh instance of the exported layer `name`, at position 2 of a model, and a good input."""
    make, shape = LAYER_CASES[name]
    layer = make()
    lamina.Sequential([L.ReLU(), L.ReLU(), layer])  # gives it a place: "(layer 2)"
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    if name in INDEX_INPUTS:  # token ids: integers are the good input, floats the bad one
        x = np.random.default_rng(0).integers(0, INDEX_INPUTS[name], shape)
    return layer, x


@pytest.mark.parametrize("bad", list(GENERIC_BAD))
@pytest.mark.parametrize("name", list(LAYER_CASES))
def test_every_layer_refuses_generic_bad_inputs(name, bad):
    layer, x = named_layer(name)
    make_bad, error, received = GENERIC_BAD[bad]
    if name in INDEX_INPUTS and bad == "int64":
        make_bad, error, received = (lambda ids: ids.astype(np.float32), DTypeError,
                                     r"x.dtype=float32")
    with pytest.raises(error, match=rf"^{type(layer).__name__} '{layer.name}' \(layer 2\) "
                                    rf"expects .*Received: {received}"):
        layer.forward(make_bad(x))


@pytest.mark.parametrize("name", list(LAYER_CASES))
def test_every_layer_takes_a_list_as_numpy_converts_it(name):
    layer, x = named_layer(name)
    layer.eval()  # no dropout mask: both calls see the same function
    x = x if name in INDEX_INPUTS else x.astype(np.float64)
    np.testing.assert_array_equal(layer.forward(x.tolist()), layer.forward(x))


@pytest.mark.parametrize("name", list(LAYER_CASES))
def test_every_layer_names_itself_for_backward_errors(name):
    layer, x = named_layer(name)
    start = rf"^{type(layer).__name__} '{layer.name}' \(layer 2\)"
    with pytest.raises(LaminaError, match=rf"{start}: backward was called before forward"):
        layer.backward(x)
    out = layer.forward(x)
    with pytest.raises(ShapeError, match=rf"{start}.* expects dout of the forward output's shape "
                                         rf".*Received: dout.shape=\({out.shape[0] + 1},"):
        layer.backward(np.ones((out.shape[0] + 1,) + out.shape[1:], np.float32))
    with pytest.raises(DTypeError, match=rf"{start}.* expects dout as a floating NumPy array"):
        layer.backward(out.astype(np.int64))


# -- every kernel ----------------------------------------------------------------------------
IMAGE, MATRIX = np.ones((2, 3, 4, 4)), np.ones((2, 3))
CELL = {gates: [np.ones((2 * gates, 3)) * 0.1, np.ones((2 * gates, 2)) * 0.1, None, None]
        for gates in (1, 3, 4)}  # recurrent weights for 3 features, hidden size 2


def rows(x):
    """The batch size of a kernel's x (a bad x without one: 2), to size its other inputs."""
    return len(x) if hasattr(x, "__len__") else 2


def only_h(result):
    """An LSTM cell's (h, c) output as h alone, whose dout its backward takes bare."""
    (h, _), cache = result
    return h, cache


def without_state(result):
    """recurrent_forward's (out, final state, cache) as (out, cache)."""
    return result[0], result[2]
KERNELS = {  # forward name -> (call on x, a good x)
    "affine_forward": (lambda x: F.affine_forward(x, np.ones((3, 2)), np.zeros(2)), MATRIX),
    "relu_forward": (F.relu_forward, MATRIX), "relu6_forward": (F.relu6_forward, MATRIX),
    "leaky_relu_forward": (F.leaky_relu_forward, MATRIX), "elu_forward": (F.elu_forward, MATRIX),
    "gelu_forward": (F.gelu_forward, MATRIX), "silu_forward": (F.silu_forward, MATRIX),
    "softplus_forward": (F.softplus_forward, MATRIX), "tanh_forward": (F.tanh_forward, MATRIX),
    "hardsigmoid_forward": (F.hardsigmoid_forward, MATRIX),
    "hardswish_forward": (F.hardswish_forward, MATRIX),
    "sigmoid_forward": (F.sigmoid_forward, MATRIX), "softmax_forward": (F.softmax_forward, MATRIX),
    "log_softmax_forward": (F.log_softmax_forward, MATRIX),
    "dropout_forward": (lambda x: F.dropout_forward(x, 0.5, rng=0), MATRIX),
    "conv2d_forward": (lambda x: F.conv2d_forward(x, np.ones((2, 3, 3, 3)), None), IMAGE),
    "conv_transpose2d_forward": (
        lambda x: F.conv_transpose2d_forward(x, np.ones((3, 2, 3, 3)), None), IMAGE),
    "max_pool2d_forward": (lambda x: F.max_pool2d_forward(x, 2), IMAGE),
    "avg_pool2d_forward": (lambda x: F.avg_pool2d_forward(x, 2), IMAGE),
    "batch_norm_forward": (
        lambda x: F.batch_norm_forward(x, np.ones(3), np.zeros(3), None, None, True)[:2], IMAGE),
    "batchnorm_forward": (
        lambda x: F.batchnorm_forward(x, np.ones(3), np.zeros(3), {"mode": "train"}), MATRIX),
    "spatial_batchnorm_forward": (
        lambda x: F.spatial_batchnorm_forward(x, np.ones(3), np.zeros(3), {"mode": "train"}),
        IMAGE),
    "layer_norm_forward": (lambda x: F.layer_norm_forward(x, None, None, 3), MATRIX),
    "group_norm_forward": (lambda x: F.group_norm_forward(x, None, None, 3), IMAGE),
    "instance_norm_forward": (lambda x: F.instance_norm_forward(x, None, None), IMAGE),
    "global_avg_pool2d_forward": (F.global_avg_pool2d_forward, IMAGE),
    "global_max_pool2d_forward": (F.global_max_pool2d_forward, IMAGE),
    "adaptive_avg_pool2d_forward": (lambda x: F.adaptive_avg_pool2d_forward(x, 2), IMAGE),
    "upsample2d_forward": (lambda x: F.upsample2d_forward(x, 2), IMAGE),
    "zero_pad2d_forward": (lambda x: F.zero_pad2d_forward(x, 1), IMAGE),
    "pad2d_forward": (lambda x: F.pad2d_forward(x, 1, "reflect"), IMAGE),
    "channel_shuffle_forward": (lambda x: F.channel_shuffle_forward(x, 3), IMAGE),
    "rnn_cell_forward": (lambda x: F.rnn_cell_forward(x, np.zeros((rows(x), 2)), *CELL[1]), MATRIX),
    "gru_cell_forward": (lambda x: F.gru_cell_forward(x, np.zeros((rows(x), 2)), *CELL[3]), MATRIX),
    "lstm_cell_forward": (lambda x: only_h(F.lstm_cell_forward(
        x, (np.zeros((rows(x), 2)), np.zeros((rows(x), 2))), *CELL[4])), MATRIX),
    "recurrent_forward": (lambda x: without_state(F.recurrent_forward(
        x, np.zeros((rows(x), 2)), *CELL[3], mode="gru")), np.ones((2, 4, 3))),
    "scaled_dot_product_attention_forward": (
        lambda x: F.scaled_dot_product_attention_forward(x, np.ones((rows(x), 5, 3)),
                                                         np.ones((rows(x), 5, 4))),
        MATRIX[:, None].repeat(4, axis=1)),
    "conv1d_forward": (lambda x: F.conv1d_forward(x, np.ones((2, 3, 2)), None), IMAGE[..., 0]),
    "max_pool1d_forward": (lambda x: F.max_pool1d_forward(x, 2), IMAGE[..., 0]),
    "avg_pool1d_forward": (lambda x: F.avg_pool1d_forward(x, 2), IMAGE[..., 0]),
}
KERNEL_ARGUMENT = {"scaled_dot_product_attention_forward": "q"}  # the rest call it x
KERNEL_BAD = {name: GENERIC_BAD[name] for name in ("int64", "float16", "complex", "str", "None")}


def test_the_kernel_table_covers_every_forward():
    # max_unpool2d_forward needs indices, embedding_forward takes integer ids (tested apart)
    forwards = {name for name in F.__all__ if name.endswith("_forward")} - {
        "max_unpool2d_forward", "embedding_forward"}
    assert forwards == set(KERNELS)


@pytest.mark.parametrize("bad", list(KERNEL_BAD))
@pytest.mark.parametrize("name", list(KERNELS))
def test_every_kernel_refuses_non_float_inputs(name, bad):
    call, x = KERNELS[name]
    make_bad, error, received = KERNEL_BAD[bad]
    argument = KERNEL_ARGUMENT.get(name, "x")
    received = received.replace("x.", f"{argument}.")
    with pytest.raises(error, match=rf"^{name} expects {argument} as a floating NumPy array .*"
                                    rf"Received: {received}"):
        call(make_bad(x))


@pytest.mark.parametrize("name", list(KERNELS))
def test_every_kernel_takes_a_list_and_an_empty_batch(name):
    """A list converts as NumPy would; N = 0 gives an empty output, or (batch norm, whose
    statistics need examples) a clear error: never a NumPy traceback or a warning."""
    call, x = KERNELS[name]
    np.testing.assert_array_equal(call(x.tolist())[0], call(x)[0])
    if name.startswith(("batch_norm", "batchnorm", "spatial_batchnorm")):
        with pytest.raises(ShapeError, match=rf"{name} expects a non-empty batch"):
            call(x[:0])
    else:
        assert call(x[:0])[0].shape[0] == 0


@pytest.mark.parametrize("name", list(KERNELS))
def test_every_backward_refuses_dout_of_another_shape_or_dtype(name):
    call, x = KERNELS[name]
    out, cache = call(x)
    backward = getattr(F, name.replace("_forward", "_backward"))
    with pytest.raises(ShapeError, match=rf"expects dout of the forward output's shape "
                                         rf"{re.escape(str(out.shape))}"):
        backward(np.ones((out.shape[0] + 1,) + out.shape[1:]), cache)
    with pytest.raises(DTypeError, match=r"expects dout as a floating NumPy array"):
        backward(np.ones(out.shape, np.int64), cache)


# -- batches of one example in front of a batch norm (check_batch_statistics) ------------------
def bn_mlp(extra=()):
    lamina.seed(0)
    net = lamina.Sequential([L.Linear(4, 6), *extra, L.BatchNorm1D(6), L.ReLU(), L.Linear(6, 3)])
    return net.compile(loss="cross_entropy", optimizer=lamina.optim.SGD(lr=0.1))


def data(n, shape=(4,)):
    rng = np.random.default_rng(1)
    return rng.standard_normal((n,) + shape).astype(np.float32), np.arange(n) % 3


def assert_refused_untouched(net, x, y, match, **fit_options):
    if not net.built:
        net.build((None,) + x.shape[1:])
    before, buffers = net.get_weights(), {k: v.copy() for k, v in net.buffers().items()}
    with pytest.raises(ConfigError, match=match):
        net.fit(x, y, verbose=0, **fit_options)
    for left, right in zip(before, net.get_weights()):
        np.testing.assert_array_equal(left, right)
    for name, value in net.buffers().items():
        np.testing.assert_array_equal(value, buffers[name])


def test_a_last_batch_of_one_before_batch_norm_is_refused_before_any_step():
    x, y = data(33)
    assert_refused_untouched(
        bn_mlp(), x, y, r"^Sequential 'sequential'\.fit: 33 training examples in batches of "
        r"32: the last batch holds one example, and BatchNorm1D 'batch_norm1d' \(layer 1\) "
        r"cannot compute batch statistics from one value per channel .*its input shape "
        r"\(None, 6\)\)\. Use batch_size=31 or 33 \(the nearest that leave no batch of one\), "
        r"or drop one training example\.", batch_size=32)


def test_the_validation_split_is_counted_and_named():
    x, y = data(41)  # 33 train, 8 validation
    assert_refused_untouched(bn_mlp(), x, y, r"33 training examples \(validation_split=0\.2 "
                             r"keeps 8 apart\) in batches of 32", validation_split=0.2,
                             batch_size=32)
    bn_mlp().fit(x, y, verbose=0, validation_split=0.2, batch_size=31)  # no batch of one


def test_batch_size_one_and_a_single_example():
    x, y = data(5)
    assert_refused_untouched(bn_mlp(), x, y, r"every batch holds one example.*Use batch_size=3 "
                             r"\(the nearest that leave no batch of one\)\. Received", batch_size=1)
    assert_refused_untouched(bn_mlp(), x[:1], y[:1], "Train on at least 2 examples",
                             batch_size=4)


def test_nested_batch_norms_are_found_and_named_by_their_path():
    lamina.seed(0)
    inner = lamina.Sequential([L.Linear(6, 6), L.BatchNorm1D(6)])
    net = lamina.Sequential([L.Linear(4, 6), L.Residual(inner), L.Linear(6, 3)])
    net.compile(loss="cross_entropy", optimizer=lamina.optim.SGD(lr=0.1))
    x, y = data(9)
    assert_refused_untouched(net, x, y, r"BatchNorm1D 'batch_norm1d' \(layer 1\.block\.1\)",
                             batch_size=4)


def image_net(size, pool):
    lamina.seed(0)
    layers = [L.Conv2D(1, 2, 3), L.BatchNorm2D(2), L.ReLU(), L.Flatten(),
              L.Linear(None, 3)]
    if pool:
        layers[1:1] = [L.MaxPool2D(size - 2)]  # down to 1 x 1 before the batch norm
    net = lamina.Sequential(layers)
    return net.compile(loss="cross_entropy", optimizer=lamina.optim.SGD(lr=0.1))


def test_batch_norm_2d_with_more_than_one_pixel_takes_a_batch_of_one():
    x, y = data(5, (1, 5, 5))  # last batch of 1 example, 3 x 3 values per channel
    history = image_net(5, pool=False).fit(x, y, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert_refused_untouched(image_net(5, pool=True), x, y,
                             r"BatchNorm2D 'batch_norm2d' \(layer 2\) .*\(None, 2, 1, 1\)",
                             batch_size=4)


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1), (1, 3, 2), (1, 3, 1, 1), (1, 3, 1, 2),
                                   (2, 3, 1, 1)])
def test_what_batch_norm_refuses_in_training_is_what_pytorch_refuses(shape):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ours = (L.BatchNorm2D if len(shape) == 4 else L.BatchNorm1D)(3)
    theirs = (torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d)(3)
    try:
        theirs(torch.from_numpy(x))
        torch_refuses = False
    except ValueError:
        torch_refuses = True
    if torch_refuses:
        with pytest.raises(ShapeError, match="more than one value per channel"):
            ours.forward(x)
    else:
        ours.forward(x)
    from lamina.validation import check_batch_statistics
    model = lamina.Sequential([ours])
    check = (lambda: check_batch_statistics("fit", model, (None,) + shape[1:], shape[0],
                                            shape[0] + 7))
    if torch_refuses:
        with pytest.raises(ConfigError):
            check()
    else:
        check()


def test_batch_sizes_and_the_nearest_ones_without_a_batch_of_one():
    from lamina.validation import batch_sizes
    assert batch_sizes(33, 32) == {32, 1} and batch_sizes(64, 32) == {32}
    assert batch_sizes(5, 8) == {5} and batch_sizes(1, 8) == {1}


# -- input hints: integer pixels, another image size, a missing batch axis ---------------------
def conv_net():
    lamina.seed(0)
    net = lamina.Sequential([L.Conv2D(1, 2, 3), L.ReLU(), L.Flatten(), L.Linear(None, 3)])
    return net.compile(loss="cross_entropy", optimizer=lamina.optim.SGD(lr=0.01))


def test_integer_pixels_warn_once_per_model_with_the_fix():
    x = np.random.default_rng(0).integers(0, 256, (8, 1, 6, 6)).astype(np.uint8)
    y = np.arange(8) % 3
    net = conv_net()
    with pytest.warns(UserWarning, match=r"integer inputs \(x.dtype=uint8, values up to "
                                         r"\d+\).*x.astype\('float32'\) / 255") as caught:
        net.fit(x, y, verbose=0)
    assert len(caught) == 1
    net.fit(x, y, verbose=0)  # once per model: warnings are errors here
    with pytest.warns(UserWarning):
        conv_net().fit(x, y, verbose=0)


@pytest.mark.parametrize("top, fix", [(16, r"/ 16\."), (255, r"/ 255 \(8-bit pixels\)"),
                                      (1000, r"/ 1000\.")])
def test_the_suggested_scale_is_the_one_that_maps_the_data_into_0_1(top, fix):
    x = np.zeros((8, 1, 6, 6), np.int64)
    x[0, 0, 0, 0] = top
    with pytest.warns(UserWarning, match=fix):
        conv_net().fit(x, np.arange(8) % 3, verbose=0)


@pytest.mark.parametrize("x", [np.ones((8, 1, 6, 6), np.uint8), np.zeros((8, 1, 6, 6), np.int64),
                               np.ones((8, 1, 6, 6), bool), np.full((8, 1, 6, 6), 200.0)])
def test_no_warning_for_integers_in_0_1_bools_or_floats(x):
    conv_net().fit(x, np.arange(8) % 3, verbose=0)


def test_integer_inputs_warn_in_fit_only():
    net = conv_net()
    x = np.full((4, 1, 6, 6), 255, np.uint8)
    net.build((None, 1, 6, 6))
    net.predict(x)
    net.evaluate(x, np.zeros(4, np.int64))


@pytest.mark.parametrize("shape, part", [
    ((2, 1, 8, 8), "Linear 'linear' \\(layer 3\\) expects 32 input features"),
    ((2, 3, 6, 6), "Conv2D 'conv2d' \\(layer 0\\) expects 1 channel"),
])
@pytest.mark.parametrize("method", ["predict", "evaluate", "fit"])
def test_another_input_size_names_the_one_the_model_was_built_for(method, shape, part):
    net = conv_net()
    net.fit(np.ones((4, 1, 6, 6), np.float32), np.zeros(4, np.int64), verbose=0)
    x, y = np.ones(shape, np.float32), np.zeros(shape[0], np.int64)
    with pytest.raises(ShapeError, match=rf"^Sequential 'sequential'\.{method} expects inputs of "
                       rf"the shape the model was built for, \(None, 1, 6, 6\) \(one example: "
                       rf"\(1, 6, 6\)\); .*Received: x.shape={re.escape(str(shape))}\. In detail: "
                       rf"{part}"):
        getattr(net, method)(*((x,) if method == "predict" else (x, y)))


@pytest.mark.parametrize("make, x", [
    (conv_net, np.ones((1, 6, 6), np.float32)),
    (lambda: mlp(), np.ones((12,), np.float32)),
])
def test_one_example_without_its_batch_axis_is_told_to_add_it(make, x):
    net = make()
    example = x.shape
    net.fit(np.ones((4,) + example, np.float32), np.zeros(4, np.int64), verbose=0)
    with pytest.raises(ShapeError, match=rf"one example without the batch axis: for a batch of "
                       rf"one, pass x\[None\] \(or x\[np.newaxis\]\)\. Received: "
                       rf"x.shape={re.escape(str(example))}"):
        net.predict(x)
    assert net.predict(x[None]).shape[0] == 1
