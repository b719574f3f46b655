"""The workloads: names, titles, shapes and inputs, shared by both frameworks' sides.

Each framework builds the same architecture from the same NumPy inputs (float32) in its own
process; ``lamina_side`` and ``torch_side`` hold one builder per workload name. A step
workload's builder returns one training step, inference or kernel call; an epoch workload's
(unit "epoch") returns one whole epoch over EPOCH_EXAMPLES examples (fewer with --quick: its
builder takes `examples`, see Workload.examples).
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    # Workloads of one group share a child process (one per framework), so the later ones'
    # peak memory misses what the earlier ones left cached (lamina's scratch buffers, the
    # allocators' free lists): every model row has a group of its own, the kernels share one.
    group: str
    unit: str = "step"  # what one timed call is: "step" (ms/step) or "epoch" (s/epoch)

    def examples(self, quick):
        """An epoch workload's examples per timed call: all of EPOCH_EXAMPLES, or
        1/QUICK_EPOCH_FRACTION of them with --quick (its time is then scaled up to an epoch);
        None for a step workload, whose builder takes no argument."""
        if self.unit != "epoch":
            return None
        return EPOCH_EXAMPLES // QUICK_EPOCH_FRACTION if quick else EPOCH_EXAMPLES

    def builder_options(self, quick):
        examples = self.examples(quick)
        return {} if examples is None else {"examples": examples}


WORKLOADS = [
    Workload("mlp_train", "(a) MLP 784-256-128-10 train, batch 128", "mlp_train"),
    Workload("lenet_train", "(b) LeNet-5 train, batch 64", "lenet_train"),
    Workload("cifar_train", "(c) CIFAR CNN + BN train, batch 64", "cifar_train"),
    Workload("lenet_infer", "(d) LeNet-5 inference, batch 256", "lenet_infer"),
    Workload("cifar_infer", "(d) CIFAR CNN inference, batch 256", "cifar_infer"),
    Workload("lenet_fold", "(d) LeNet-5 folded inference (torch: eval), batch 256",
             "lenet_fold"),
    Workload("cifar_fold", "(d) CIFAR CNN folded inference (torch: eval), batch 256",
             "cifar_fold"),
    Workload("decoder_train", "(e) ConvT decoder train, batch 64", "decoder_train"),
    Workload("lstm_train", "(g) LSTM 64->256 train, (64, 50, 64)", "lstm_train"),
    Workload("transformer_train", "(g) Transformer encoder 2x d128 h4 train, (32, 64, 128)",
             "transformer_train"),
    Workload("mlp_epoch", "(h) MLP 784-256-128-10 epoch, 60,000 examples, batch 64, Adam",
             "mlp_epoch", unit="epoch"),
    Workload("lenet_epoch", "(h) LeNet-5 epoch, 60,000 examples, batch 64, Adam", "lenet_epoch",
             unit="epoch"),
    Workload("conv_lenet_fwd", "(f) conv2d fwd 1->6 5x5 p2 @28, N64", "kernels"),
    Workload("conv_lenet_bwd", "(f) conv2d bwd 1->6 5x5 p2 @28, N64", "kernels"),
    Workload("conv_cifar_fwd", "(f) conv2d fwd 32->32 3x3 p1 @32, N64", "kernels"),
    Workload("conv_cifar_bwd", "(f) conv2d bwd 32->32 3x3 p1 @32, N64", "kernels"),
    Workload("conv_s2_fwd", "(f) conv2d fwd 64->64 3x3 s2 p1 @16, N64", "kernels"),
    Workload("conv_s2_bwd", "(f) conv2d bwd 64->64 3x3 s2 p1 @16, N64", "kernels"),
    Workload("maxpool_fwd", "(f) max_pool2d fwd 2x2 (64, 32, 32, 32)", "kernels"),
    Workload("maxpool_bwd", "(f) max_pool2d bwd 2x2 (64, 32, 32, 32)", "kernels"),
    Workload("batchnorm_fwd", "(f) batchnorm2d fwd train (64, 32, 32, 32)", "kernels"),
    Workload("batchnorm_bwd", "(f) batchnorm2d bwd train (64, 32, 32, 32)", "kernels"),
]

# conv kernel workloads: x shape, w shape, stride, padding
CONV_SHAPES = {
    "lenet": ((64, 1, 28, 28), (6, 1, 5, 5), 1, 2),
    "cifar": ((64, 32, 32, 32), (32, 32, 3, 3), 1, 1),
    "s2": ((64, 64, 16, 16), (64, 64, 3, 3), 2, 1),
}
LSTM_SHAPE, LSTM_HIDDEN = (64, 50, 64), 256  # (N, T, F)
TRANSFORMER_SHAPE, TRANSFORMER_HEADS, TRANSFORMER_FF = (32, 64, 128), 4, 512  # (N, T, d_model)
POOL_SHAPE = BATCHNORM_SHAPE = (64, 32, 32, 32)
LR, MOMENTUM = 0.01, 0.9  # SGD of the step workloads
# Epoch workloads (h): MNIST's size (60,000 examples of 784 features or (1, 28, 28), 10
# classes), batch 64 (938 batches, the last of 32), Adam at its defaults and lr 1e-3.
EPOCH_EXAMPLES, EPOCH_BATCH, EPOCH_LR, QUICK_EPOCH_FRACTION = 60_000, 64, 1e-3, 10


def normal(shape, seed=0):
    """Standard normal float32 data, the same in both processes."""
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


def labels(n, classes=10, seed=1):
    return np.random.default_rng(seed).integers(0, classes, n)


def epoch_inputs(name, examples):
    """(x, y) of an epoch workload, already in the epoch's batch order: examples drawn once,
    then permuted by one fixed permutation (contiguous copies), so both frameworks read the
    same batches x[i:i + EPOCH_BATCH] in the same order without shuffling themselves.
    x: (examples, 784) for mlp_epoch, (examples, 1, 28, 28) for lenet_epoch; float32.
    y: int64 class ids in [0, 10)."""
    shape = {"mlp_epoch": (784,), "lenet_epoch": (1, 28, 28)}[name]
    order = np.random.default_rng(2).permutation(examples)
    return normal((examples,) + shape)[order], labels(examples)[order]


def model_inputs(name):
    """(x, y) for a model workload: images or features, and labels or a regression target."""
    if name == "mlp_train":
        return normal((128, 784)), labels(128)
    if name == "lstm_train":
        return normal(LSTM_SHAPE), labels(LSTM_SHAPE[0])
    if name == "transformer_train":
        return normal(TRANSFORMER_SHAPE), labels(TRANSFORMER_SHAPE[0])
    if name == "decoder_train":
        return normal((64, 64, 8, 8)), normal((64, 3, 32, 32), seed=1)
    batch = 256 if name.endswith(("_infer", "_fold")) else 64
    shape = (batch, 1, 28, 28) if name.startswith("lenet") else (batch, 3, 32, 32)
    return normal(shape), labels(batch)
