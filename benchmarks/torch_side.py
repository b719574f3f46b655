"""PyTorch's side of every workload (imported only inside the PyTorch child process).

The same architectures in torch.nn, default NCHW (contiguous) memory format, float32; the
training step is the usual zero_grad / forward / loss / backward / step, and an epoch is a
plain loop of such steps over the batches in order (as lamina's fit reads them). Kernels in
isolation call the ATen ops that autograd itself calls, so no graph is built around them.
"""

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.workloads import (BATCHNORM_SHAPE, CONV_SHAPES, EPOCH_BATCH, EPOCH_LR, LR,
                                  LSTM_HIDDEN, LSTM_SHAPE, MOMENTUM, POOL_SHAPE, TRANSFORMER_FF,
                                  TRANSFORMER_HEADS, TRANSFORMER_SHAPE, epoch_inputs,
                                  model_inputs, normal)

aten = torch.ops.aten


def set_threads(threads):
    torch.set_num_threads(threads)


def info():
    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def cifar_cnn():
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 8 * 8, 10),
    )


def mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def decoder():
    return nn.Sequential(
        nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.ConvTranspose2d(32, 3, 4, stride=2, padding=1),
    )


class LastOutputLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(LSTM_SHAPE[2], LSTM_HIDDEN, batch_first=True)
        self.linear = nn.Linear(LSTM_HIDDEN, 10)

    def forward(self, x):
        return self.linear(self.lstm(x)[0][:, -1])


def transformer():
    _, steps, width = TRANSFORMER_SHAPE
    return nn.Sequential(
        *[nn.TransformerEncoderLayer(width, TRANSFORMER_HEADS, TRANSFORMER_FF, batch_first=True)
          for _ in range(2)],
        nn.Flatten(), nn.Linear(steps * width, 10))


def _tensors(name):
    x, y = model_inputs(name)
    return torch.from_numpy(x), torch.from_numpy(y)


def train_step(model, name, loss_fn=F.cross_entropy):
    """One call: one SGD-with-momentum step on the workload's batch; returns the loss."""
    x, y = _tensors(name)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()
    return step


def loop_epoch(model, name, examples):
    """One call: one epoch over the batches x[i:i + EPOCH_BATCH] in order (views of
    workloads.epoch_inputs' arrays, which lamina's fit reads in the same order); like fit's
    log, it returns the mean loss."""
    x, y = (torch.from_numpy(a) for a in epoch_inputs(name, examples))
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=EPOCH_LR)

    def epoch():
        total = 0.0
        for start in range(0, len(x), EPOCH_BATCH):
            xb, yb = x[start:start + EPOCH_BATCH], y[start:start + EPOCH_BATCH]
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        return total / len(x)
    return epoch


def _inference(model, name):
    x, _ = _tensors(name)
    model.eval()

    def step():
        with torch.inference_mode():
            return model(x)
    return step


def _conv(shape_name, direction):
    x_shape, w_shape, stride, padding = CONV_SHAPES[shape_name]
    x, w = torch.from_numpy(normal(x_shape)), torch.from_numpy(normal(w_shape, seed=1) * 0.1)
    b = torch.from_numpy(normal(w_shape[:1], seed=2))
    if direction == "fwd":
        return lambda: F.conv2d(x, w, b, stride, padding)
    dout = torch.from_numpy(normal(F.conv2d(x, w, b, stride, padding).shape, seed=3))
    return lambda: aten.convolution_backward(dout, x, w, [w.shape[0]], [stride] * 2,
                                             [padding] * 2, [1, 1], False, [0, 0], 1,
                                             [True, True, True])


def _maxpool(direction):
    x = torch.from_numpy(normal(POOL_SHAPE))
    if direction == "fwd":  # with indices, as a training forward needs them
        return lambda: aten.max_pool2d_with_indices(x, [2, 2], [2, 2])
    out, indices = aten.max_pool2d_with_indices(x, [2, 2], [2, 2])
    dout = torch.from_numpy(normal(out.shape, seed=3))
    return lambda: aten.max_pool2d_with_indices_backward(dout, x, [2, 2], [2, 2], [0, 0],
                                                         [1, 1], False, indices)


def _batchnorm(direction):
    x = torch.from_numpy(normal(BATCHNORM_SHAPE))
    channels = x.shape[1]
    gamma, beta = torch.ones(channels), torch.zeros(channels)
    mean, var = torch.zeros(channels), torch.ones(channels)
    if direction == "fwd":
        return lambda: aten.native_batch_norm(x, gamma, beta, mean, var, True, 0.1, 1e-5)
    out, save_mean, save_invstd = aten.native_batch_norm(x, gamma, beta, mean, var, True, 0.1,
                                                         1e-5)
    dout = torch.from_numpy(normal(out.shape, seed=3))
    return lambda: aten.native_batch_norm_backward(dout, x, gamma, mean, var, save_mean,
                                                   save_invstd, True, 1e-5, [True, True, True])


BUILDERS = {
    "mlp_train": lambda: train_step(mlp(), "mlp_train"),
    "lenet_train": lambda: train_step(lenet(), "lenet_train"),
    "cifar_train": lambda: train_step(cifar_cnn(), "cifar_train"),
    "lenet_infer": lambda: _inference(lenet(), "lenet_infer"),
    "cifar_infer": lambda: _inference(cifar_cnn(), "cifar_infer"),
    "lenet_fold": lambda: _inference(lenet(), "lenet_fold"),  # the target: torch's eval mode
    "cifar_fold": lambda: _inference(cifar_cnn(), "cifar_fold"),
    "decoder_train": lambda: train_step(decoder(), "decoder_train", F.mse_loss),
    "lstm_train": lambda: train_step(LastOutputLSTM(), "lstm_train"),
    "transformer_train": lambda: train_step(transformer(), "transformer_train"),
    "mlp_epoch": lambda examples: loop_epoch(mlp(), "mlp_epoch", examples),
    "lenet_epoch": lambda examples: loop_epoch(lenet(), "lenet_epoch", examples),
    **{f"conv_{shape}_{d}": (lambda s=shape, d=d: _conv(s, d))
       for shape in CONV_SHAPES for d in ("fwd", "bwd")},
    "maxpool_fwd": lambda: _maxpool("fwd"),
    "maxpool_bwd": lambda: _maxpool("bwd"),
    "batchnorm_fwd": lambda: _batchnorm("fwd"),
    "batchnorm_bwd": lambda: _batchnorm("bwd"),
}
