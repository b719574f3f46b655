"""Every exported layer survives model.save / lamina.load_model: same config, same weights and
buffers, bit-identical predictions. A layer added to lamina.layers without an entry here fails."""

import numpy as np
import pytest

import lamina
from lamina import layers as L

IMAGE = (2, 4, 6, 6)
CASES = {  # name -> (layer factory, input shape)
    "Linear": (lambda: L.Linear(None, 3, kernel_regularizer="l2"), (2, 5)),
    "Dense": (lambda: L.Dense(3, activation="tanh", use_bias=False, bias_regularizer="l1"),
              (2, 5)),
    "Conv2D": (lambda: L.Conv2D(4, 6, 3, stride=2, padding=1, dilation=1, groups=2), IMAGE),
    "ConvTranspose2D": (lambda: L.ConvTranspose2D(4, 2, 3, stride=2, output_padding=1), IMAGE),
    "DepthwiseConv2D": (lambda: L.DepthwiseConv2D(4, 3, depth_multiplier=2), IMAGE),
    "SeparableConv2D": (lambda: L.SeparableConv2D(4, 5, 3, padding=1), IMAGE),
    "MaxPool2D": (lambda: L.MaxPool2D(3, stride=2, padding=1), IMAGE),
    "AvgPool2D": (lambda: L.AvgPool2D(2), IMAGE),
    "GlobalAvgPool2D": (lambda: L.GlobalAvgPool2D(keepdims=True), IMAGE),
    "GlobalMaxPool2D": (lambda: L.GlobalMaxPool2D(), IMAGE),
    "AdaptiveAvgPool2D": (lambda: L.AdaptiveAvgPool2D((4, 3)), IMAGE),
    "Upsample2D": (lambda: L.Upsample2D(size=(9, 7), mode="bilinear", align_corners=False), IMAGE),
    "ZeroPad2D": (lambda: L.ZeroPad2D((1, 0, 2, 1)), IMAGE),
    "ChannelShuffle": (lambda: L.ChannelShuffle(2), IMAGE),
    "BatchNorm1D": (lambda: L.BatchNorm1D(5), (4, 5)),
    "BatchNorm2D": (lambda: L.BatchNorm2D(4), IMAGE),
    "LayerNorm": (lambda: L.LayerNorm((6, 6)), IMAGE),
    "GroupNorm": (lambda: L.GroupNorm(2, 4), IMAGE),
    "InstanceNorm2D": (lambda: L.InstanceNorm2D(4, affine=True, track_running_stats=True), IMAGE),
    "Dropout": (lambda: L.Dropout(0.3), (2, 5)),
    "Flatten": (lambda: L.Flatten(), IMAGE),
    "Reshape": (lambda: L.Reshape((-1, 9)), IMAGE),
    "ReLU": (lambda: L.ReLU(), (2, 5)),
    "ReLU6": (lambda: L.ReLU6(), (2, 5)),
    "LeakyReLU": (lambda: L.LeakyReLU(0.2), (2, 5)),
    "ELU": (lambda: L.ELU(0.5), (2, 5)),
    "GELU": (lambda: L.GELU(approximate="tanh"), (2, 5)),
    "SiLU": (lambda: L.SiLU(), (2, 5)),
    "Softplus": (lambda: L.Softplus(beta=2.0, threshold=10.0), (2, 5)),
    "HardSigmoid": (lambda: L.HardSigmoid(), (2, 5)),
    "HardSwish": (lambda: L.HardSwish(), (2, 5)),
    "Sigmoid": (lambda: L.Sigmoid(), (2, 5)),
    "Tanh": (lambda: L.Tanh(), (2, 5)),
    "Softmax": (lambda: L.Softmax(), (2, 5)),
    "LogSoftmax": (lambda: L.LogSoftmax(), (2, 5)),
    "Residual": (lambda: L.Residual(lamina.Sequential([L.Conv2D(4, 4, 3, padding=1)]),
                                    L.Conv2D(4, 4, 1)), IMAGE),
    "Add": (lambda: L.Add([L.ReLU(), L.Tanh()]), IMAGE),
    "Multiply": (lambda: L.Multiply([lamina.Sequential([]), L.GlobalAvgPool2D(keepdims=True)]), IMAGE),
    "Concat": (lambda: L.Concat([L.Conv2D(4, 2, 1), L.MaxPool2D(3, stride=1, padding=1)]), IMAGE),
    "Concatenate": (lambda: L.Concatenate([L.Conv2D(4, 2, 1), L.ReLU()], axis=1), IMAGE),
    "Subtract": (lambda: L.Subtract([L.Conv2D(4, 4, 1), L.ReLU()]), IMAGE),
    "Average": (lambda: L.Average([L.Conv2D(4, 4, 1), L.Tanh(), L.ReLU()]), IMAGE),
    "Embedding": (lambda: L.Embedding(7, 3, padding_idx=0), (2, 5)),
    "PositionalEmbedding": (lambda: L.PositionalEmbedding(8, 4), (2, 5, 4)),
    "RNN": (lambda: L.RNN(4, 3, nonlinearity="relu", bidirectional=True), (2, 5, 4)),
    "LSTM": (lambda: L.LSTM(4, 3, num_layers=2, return_sequences=False), (2, 5, 4)),
    "GRU": (lambda: L.GRU(None, 3, bias=False, return_sequences=False), (2, 5, 4)),
    "MultiHeadAttention": (lambda: L.MultiHeadAttention(4, 2), (2, 5, 4)),
    "TransformerEncoderLayer": (lambda: L.TransformerEncoderLayer(4, 2, 8, norm_first=True,
                                                                  activation="gelu"), (2, 5, 4)),
    "Conv1D": (lambda: L.Conv1D(4, 6, 3, stride=2, padding=1, groups=2), (2, 4, 9)),
    "MaxPool1D": (lambda: L.MaxPool1D(3, stride=2, padding=1), (2, 4, 9)),
    "AvgPool1D": (lambda: L.AvgPool1D(2), (2, 4, 9)),
    "GlobalAvgPool1D": (lambda: L.GlobalAvgPool1D(keepdims=True), (2, 4, 9)),
    "GlobalMaxPool1D": (lambda: L.GlobalMaxPool1D(), (2, 4, 9)),
    "TimeDistributed": (lambda: L.TimeDistributed(L.Linear(None, 3)), (2, 5, 4)),
    "Permute": (lambda: L.Permute((2, 1)), (2, 5, 4)),
    "RandomFlip": (lambda: L.RandomFlip("horizontal"), IMAGE),
    "RandomCrop": (lambda: L.RandomCrop((4, 5), padding=(1, 2)), IMAGE),
    "RandomTranslation": (lambda: L.RandomTranslation(0.2, (-0.1, 0.3), fill_mode="wrap"), IMAGE),
    "RandomRotation": (lambda: L.RandomRotation(0.1, interpolation="nearest"), IMAGE),
    "RandomErasing": (lambda: L.RandomErasing(p=0.7, value=[0.0, 1.0, 2.0, 3.0]), IMAGE),
    "Rescaling": (lambda: L.Rescaling(0.5, offset=-1.0), IMAGE),
    "Normalization": (lambda: L.Normalization(mean=[0.5, 1.0, 2.0, 0.0], variance=2.0), IMAGE),
    "ConstantArithmetic": (lambda: L.ConstantArithmetic("divide", (4, 1, 1), True), IMAGE),
}
INDEX_INPUTS = {"Embedding": 7}  # layers taking token ids: ids below this many
ALIASES = {"Deconv2D": "ConvTranspose2D", "MeanPool2D": "AvgPool2D",
           "Swish": "SiLU"}
NOT_LAYERS_TO_SAVE = {"Layer", "MaxUnpool2D", "register_layer"}  # MaxUnpool2D needs indices


def test_the_table_covers_every_exported_layer():
    exported = set(L.__all__) - NOT_LAYERS_TO_SAVE - set(ALIASES)
    assert exported == set(CASES), f"add a case for {sorted(exported - set(CASES))}"
    for alias, name in ALIASES.items():
        assert getattr(L, alias) is getattr(L, name)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_round_trips_through_a_model_file(name, dtype, tmp_path):
    factory, shape = CASES[name]
    lamina.seed(0)
    model = lamina.Sequential([factory()])
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    if name in INDEX_INPUTS:
        x = np.random.default_rng(1).integers(0, INDEX_INPUTS[name], shape)
    model.build((None,) + shape[1:])
    model.astype(dtype)
    model.forward(x)  # training mode once: running statistics move away from their defaults
    model.save(tmp_path / "m.lamina")
    loaded = lamina.load_model(tmp_path / "m.lamina")
    assert loaded.get_config() == model.get_config()
    for (key, ours), (key2, theirs) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert key == key2 and ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
