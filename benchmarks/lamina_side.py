"""lamina's side of every workload: build it, return a step function (public API only)."""

import numpy as np

import lamina
from lamina import functional as F
from lamina import layers as L
from lamina.inference import fold
from lamina.optim import SGD, Adam

from benchmarks.workloads import (BATCHNORM_SHAPE, CONV_SHAPES, EPOCH_BATCH, EPOCH_LR, LR,
                                  LSTM_HIDDEN, LSTM_SHAPE, MOMENTUM, POOL_SHAPE, TRANSFORMER_FF,
                                  TRANSFORMER_HEADS, TRANSFORMER_SHAPE, epoch_inputs,
                                  model_inputs, normal)


def set_threads(threads):
    """lamina's kernel threads and its BLAS threads, as torch.set_num_threads on the other side
    (the parent also set OMP_NUM_THREADS / OPENBLAS_NUM_THREADS, lamina's default)."""
    lamina.set_num_threads(threads)


def info():
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return {"lamina": lamina.__version__, "numpy": np.__version__,
            "blas": f"{blas.get('name')} {blas.get('version')}",
            "lamina_threads": lamina.get_num_threads()}


def lenet():
    return lamina.Sequential([
        L.Conv2D(1, 6, 5, padding=2), L.ReLU(), L.MaxPool2D(2),
        L.Conv2D(6, 16, 5), L.ReLU(), L.MaxPool2D(2), L.Flatten(),
        L.Linear(400, 120), L.ReLU(), L.Linear(120, 84), L.ReLU(), L.Linear(84, 10),
    ])


def cifar_cnn():
    return lamina.Sequential([
        L.Conv2D(3, 32, 3, padding=1), L.BatchNorm2D(32), L.ReLU(),
        L.Conv2D(32, 32, 3, padding=1), L.BatchNorm2D(32), L.ReLU(), L.MaxPool2D(2),
        L.Conv2D(32, 64, 3, padding=1), L.BatchNorm2D(64), L.ReLU(), L.MaxPool2D(2),
        L.Flatten(), L.Linear(64 * 8 * 8, 10),
    ])


def mlp():
    return lamina.Sequential([L.Linear(784, 256), L.ReLU(), L.Linear(256, 128), L.ReLU(),
                              L.Linear(128, 10)])


def decoder():
    return lamina.Sequential([
        L.ConvTranspose2D(64, 32, 4, stride=2, padding=1), L.BatchNorm2D(32), L.ReLU(),
        L.ConvTranspose2D(32, 3, 4, stride=2, padding=1),
    ])


def lstm():
    """LSTM over the sequence, its last output, a linear classifier."""
    return lamina.Sequential([L.LSTM(LSTM_SHAPE[2], LSTM_HIDDEN, return_sequences=False),
                              L.Linear(LSTM_HIDDEN, 10)])


def transformer():
    """Two encoder layers (post-norm, dropout 0.1), flattened, a linear classifier."""
    _, steps, width = TRANSFORMER_SHAPE
    return lamina.Sequential([
        L.TransformerEncoderLayer(width, TRANSFORMER_HEADS, TRANSFORMER_FF),
        L.TransformerEncoderLayer(width, TRANSFORMER_HEADS, TRANSFORMER_FF),
        L.Flatten(), L.Linear(steps * width, 10)])


def train_step(model, name, loss="cross_entropy"):
    """One call: model.train_step on the workload's batch (SGD with momentum)."""
    x, y = model_inputs(name)
    model.compile(loss=loss, optimizer=SGD(lr=LR, momentum=MOMENTUM))
    return lambda: model.train_step(x, y)


def fit_epoch(model, name, examples):
    """One call: one epoch of model.fit over the examples, as a user would call it (arrays
    already in the epoch's order, so shuffle=False; see workloads.epoch_inputs)."""
    x, y = epoch_inputs(name, examples)
    model.compile(loss="cross_entropy", optimizer=Adam(lr=EPOCH_LR))
    return lambda: model.fit(x, y, batch_size=EPOCH_BATCH, epochs=1, shuffle=False, verbose=0)


def _inference(model, name):
    x, _ = model_inputs(name)
    return lambda: model.predict(x, batch_size=len(x))


def _conv(shape_name, direction):
    x_shape, w_shape, stride, padding = CONV_SHAPES[shape_name]
    x, w, b = normal(x_shape), normal(w_shape, seed=1) * 0.1, normal(w_shape[:1], seed=2)
    if direction == "fwd":
        return lambda: F.conv2d_forward(x, w, b, stride, padding)
    out, cache = F.conv2d_forward(x, w, b, stride, padding)
    dout = normal(out.shape, seed=3)
    return lambda: F.conv2d_backward(dout, cache)


def _maxpool(direction):
    x = normal(POOL_SHAPE)
    if direction == "fwd":
        return lambda: F.max_pool2d_forward(x, 2)
    out, cache = F.max_pool2d_forward(x, 2)
    dout = normal(out.shape, seed=3)
    return lambda: F.max_pool2d_backward(dout, cache)


def _batchnorm(direction):
    x = normal(BATCHNORM_SHAPE)
    channels = x.shape[1]
    gamma, beta = np.ones(channels, np.float32), np.zeros(channels, np.float32)
    bn_param = {"mode": "train"}
    if direction == "fwd":
        return lambda: F.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    out, cache = F.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    dout = normal(out.shape, seed=3)
    return lambda: F.spatial_batchnorm_backward(dout, cache)


BUILDERS = {
    "mlp_train": lambda: train_step(mlp(), "mlp_train"),
    "lenet_train": lambda: train_step(lenet(), "lenet_train"),
    "cifar_train": lambda: train_step(cifar_cnn(), "cifar_train"),
    "lenet_infer": lambda: _inference(lenet(), "lenet_infer"),
    "cifar_infer": lambda: _inference(cifar_cnn(), "cifar_infer"),
    "lenet_fold": lambda: _inference(fold(lenet()), "lenet_fold"),
    "cifar_fold": lambda: _inference(fold(cifar_cnn()), "cifar_fold"),
    "decoder_train": lambda: train_step(decoder(), "decoder_train", loss="mse"),
    "lstm_train": lambda: train_step(lstm(), "lstm_train"),
    "transformer_train": lambda: train_step(transformer(), "transformer_train"),
    "mlp_epoch": lambda examples: fit_epoch(mlp(), "mlp_epoch", examples),
    "lenet_epoch": lambda examples: fit_epoch(lenet(), "lenet_epoch", examples),
    **{f"conv_{shape}_{d}": (lambda s=shape, d=d: _conv(s, d))
       for shape in CONV_SHAPES for d in ("fwd", "bwd")},
    "maxpool_fwd": lambda: _maxpool("fwd"),
    "maxpool_bwd": lambda: _maxpool("bwd"),
    "batchnorm_fwd": lambda: _batchnorm("fwd"),
    "batchnorm_bwd": lambda: _batchnorm("bwd"),
}
