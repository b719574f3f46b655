import numpy as np
import pytest

from lamina import Sequential, models
from lamina import layers as L
from lamina.errors import ConfigError, LaminaError, ShapeError


@pytest.mark.parametrize("layer", [L.Linear(3, 2), L.Conv2D(1, 1, 1), L.ReLU(), L.Flatten(),
                                   L.BatchNorm1D(2), L.MaxPool2D(2), L.Softmax(), L.Dropout(0.1)])
def test_backward_before_forward_is_a_clear_error(layer):
    with pytest.raises(LaminaError, match=r"backward was called before forward"):
        layer.backward(np.ones((1, 2)))


@pytest.mark.parametrize("make, message", [
    (lambda: L.Linear(3, -1), r"Linear expects out_features as an int >= 1. Received: out_features=-1"),
    (lambda: L.Linear(3.5, 2), r"Linear expects in_features as an int >= 1 or None. Received: in_features=3.5"),
    (lambda: L.Linear(0, 2), r"Received: in_features=0"),
    (lambda: L.Conv2D(3, None, 3), r"out_channels as an int >= 1. Received: out_channels=None"),
    (lambda: L.Conv2D(4, 4, 3, groups=0), r"groups as an int >= 1. Received: groups=0"),
    (lambda: L.BatchNorm2D(-1), r"num_features .*Received: num_features=-1"),
    (lambda: L.BatchNorm1D(4, momentum=None), r"momentum as a number in \[0, 1\]"),
    (lambda: L.Dropout("0.5"), r"Received: p='0.5'"),
    (lambda: L.ReLU(name=3), r"name as a string"),
])
def test_constructor_arguments_are_checked(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


def test_layer_basics():
    layer = L.Linear(2, 3, name="fc")
    assert layer.describe() == "Linear 'fc'" and repr(layer).startswith("Linear(in_features=2")
    assert layer.count_params() == 9 and layer.train() is layer and layer.eval().training is False


def test_too_few_dimensions_is_a_clear_error():
    from lamina.errors import ShapeError

    with pytest.raises(ShapeError, match=r"BatchNorm1D 'batch_norm1d' expects input with 2 or 3 dimensions \(N, D\) or "
                                         r"\(N, C, L\). Received: x.shape=\(4,\)"):
        L.BatchNorm1D(3).forward(np.ones(4, np.float32))


# -- channels-last images: the advice is the transpose, never a size that trains on them ------
CHANNEL_FIRST = [
    lambda c: L.Conv2D(c, 4, 3, padding=1), lambda c: L.ConvTranspose2D(c, 4, 3),
    lambda c: L.DepthwiseConv2D(c, 3, padding=1), lambda c: L.SeparableConv2D(c, 4, 3),
    lambda c: L.BatchNorm2D(c), lambda c: L.GroupNorm(1, c), lambda c: L.InstanceNorm2D(c),
]
TRANSPOSE = r"looks channels-last \(N, H, W, C\).*x\.transpose\(0, 3, 1, 2\)"


@pytest.mark.parametrize("make", CHANNEL_FIRST)
@pytest.mark.parametrize("channels, shape", [(1, (4, 28, 28, 1)), (3, (4, 32, 32, 3)),
                                             (None, (4, 28, 28, 1)), (None, (4, 16, 12, 3))])
def test_channels_last_images_get_the_transpose_in_a_model_and_alone(make, channels, shape):
    """Given or lazy (size None), a channel-first layer fed NHWC images says so and suggests
    x.transpose(0, 3, 1, 2); neither message offers a size that would let the layout train."""
    model = Sequential([make(channels), L.Flatten(), L.Linear(None, 2)]).compile()
    for run in (lambda: model.fit(np.zeros(shape), np.zeros(shape[0], int), verbose=0),
                lambda: make(channels).forward(np.zeros(shape))):
        with pytest.raises(ShapeError, match=TRANSPOSE) as caught:
            run()
        assert f"={shape[1]}" not in str(caught.value) and "Fix:" not in str(caught.value)


@pytest.mark.parametrize("make, shape", [
    (lambda: L.MaxPool2D(2), (2, 28, 28, 1)), (lambda: L.AvgPool2D(4), (2, 32, 32, 3)),
    (lambda: L.Conv2D(None, 4, 3), (2, 28, 28, 1))])
def test_a_window_that_does_not_fit_channels_last_images_says_why(make, shape):
    with pytest.raises(ShapeError, match=r"spatial size|infer in_channels") as caught:
        Sequential([make()]).build((None,) + shape[1:])
    assert "x.transpose(0, 3, 1, 2)" in str(caught.value)


def test_the_zoo_models_suggest_the_transpose():
    for model, shape in ((models.LeNet5(), (2, 28, 28, 1)),
                         (models.resnet_small(in_channels=3), (2, 32, 32, 3))):
        with pytest.raises(ShapeError, match=TRANSPOSE):
            model.build((None,) + shape[1:])


@pytest.mark.parametrize("channels, shape, fix", [
    (3, (None, 1, 28, 28), "in_channels=1"),   # channels first, wrong count: the size is the fix
    (16, (None, 64, 4, 4), "in_channels=64"),  # a square feature map is no image
    (2, (None, 4, 28, 1), "in_channels=4"),    # axis 1 could be channels itself
])
def test_channel_first_shapes_keep_the_size_fix(channels, shape, fix):
    with pytest.raises(ShapeError, match=rf"Fix: Conv2D 'conv2d' \(layer 0\) with {fix}") as caught:
        Sequential([L.Conv2D(channels, 4, 1)]).build(shape)
    assert "transpose" not in str(caught.value)


@pytest.mark.parametrize("make, argument", [
    (lambda: L.Conv1D(16, 8, 3), "in_channels"), (lambda: L.BatchNorm1D(16), "num_features"),
    (lambda: Sequential([L.Conv1D(16, 8, 3), L.ReLU()]), "in_channels")])
def test_channels_last_sequences_get_the_transpose_beside_the_size(make, argument):
    """(N, L, C) signals whose last axis holds the expected channels: the transpose comes
    first, and the size fix is offered only as the reading of a true (N, C, L) input."""
    for run in (lambda: Sequential([make()]).predict(np.zeros((2, 50, 16))),
                lambda: make().forward(np.zeros((2, 50, 16)))):
        with pytest.raises(ShapeError, match=r"laid out \(N, L, C\).*x\.transpose\(0, 2, 1\)"
                                             rf".*really is \(N, C, L\) with 50 channels, set "
                                             rf"{argument}=50") as caught:
            run()
        assert "Fix:" not in str(caught.value)


def test_a_sequence_whose_last_axis_is_not_the_channels_keeps_the_size_fix():
    with pytest.raises(ShapeError, match=r"Fix: Conv1D 'conv1d' \(layer 0\) with in_channels=50")\
            as caught:
        Sequential([L.Conv1D(16, 8, 3)]).predict(np.zeros((2, 50, 12)))
    assert "transpose" not in str(caught.value)


def test_lazy_layers_infer_channel_first_shapes_and_an_explicit_size_passes():
    """(N, C, L, 1) with C > 4 (a 1-D signal as an image) trains with the size given."""
    assert L.Conv2D(None, 4, 1).forward(np.zeros((2, 4, 4, 3))).shape == (2, 4, 4, 3)
    assert L.Conv2D(None, 4, 3, padding=1).forward(np.zeros((2, 3, 9, 9))).shape == (2, 4, 9, 9)
    assert L.Conv2D(16, 2, 1).forward(np.zeros((2, 16, 20, 1))).shape == (2, 2, 20, 1)


# -- layer.trainable (Keras' way to freeze) ------------------------------------------------------
def _frozen_cnn():
    return Sequential([L.Conv2D(None, 4, 3, kernel_regularizer="l2"), L.BatchNorm2D(None),
                       L.ReLU(), L.Flatten(), L.Linear(None, 3)])


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop", "adagrad"])
def test_a_frozen_layer_keeps_its_weights_through_fit_and_the_rest_trains(optimizer):
    """Frozen before the lazy model is built: what build creates is frozen too; weight decay,
    penalties and momentum leave it alone, and a frozen BatchNorm keeps its statistics."""
    import lamina
    lamina.seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 2, 6, 6)), rng.integers(0, 3, 16)
    model = _frozen_cnn()
    model.layers[0].trainable = model.layers[1].trainable = False
    model.compile(optimizer=optimizer).build((None, 2, 6, 6))
    before = [p.data.copy() for p in model.parameters()]
    buffers = {k: v.copy() for k, v in model.buffers().items()}
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    moved = [not np.array_equal(a, p.data) for a, p in zip(before, model.parameters())]
    assert moved == [False, False, False, False, True, True]
    assert all(np.array_equal(buffers[k], v) for k, v in model.buffers().items())
    model.layers[0].trainable = True  # unfrozen, it trains again
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert not np.array_equal(before[0], model.parameters()[0].data)


def test_trainable_recurses_into_containers_and_back():
    model = Sequential([L.Linear(4, 4), Sequential([L.Linear(4, 2), L.BatchNorm1D(2)])])
    model.trainable = False
    assert not any(p.trainable for p in model.parameters())
    assert not model.layers[1].layers[1].trainable and not model.layers[1].trainable
    model.layers[1].trainable = True
    assert [p.trainable for p in model.parameters()] == [False, False, True, True, True, True]
    model.trainable = True
    assert all(p.trainable for p in model.parameters()) and model.trainable
    with pytest.raises(ConfigError, match=r"Linear 'linear' \(layer 0\).trainable expects True or "
                                          r"False. Received: 'no'"):
        model.layers[0].trainable = "no"


def test_a_frozen_batch_norm_normalises_with_its_running_statistics_in_training():
    """As Keras 3: trainable=False puts BatchNorm in inference mode, training or not."""
    rng = np.random.default_rng(1)
    norm = L.BatchNorm2D(3)
    norm.running_mean, norm.running_var = rng.standard_normal(3), rng.random(3) + 0.5
    x = rng.standard_normal((1, 3, 1, 1))  # one value per channel: batch statistics cannot work
    eval_out = norm.eval().forward(x)
    norm.train().trainable = False
    np.testing.assert_array_equal(norm.forward(x), eval_out)
    norm.backward(np.ones_like(x))  # gradients still flow to the input and to gamma, beta
    np.testing.assert_allclose(norm.gamma.grad, ((x - norm.running_mean[:, None, None]) /
                               np.sqrt(norm.running_var[:, None, None] + norm.eps)).reshape(3))


def test_summary_counts_a_frozen_layer_as_non_trainable(capsys):
    model = _frozen_cnn()
    model.build((None, 2, 6, 6))
    model.layers[-1].trainable = False
    model.summary()
    out = capsys.readouterr().out
    # conv 4*2*9 + 4 = 76, batch norm 8 + 8 buffers, linear 64*3 + 3 = 195
    assert "Total params: 287\nTrainable params: 84\nNon-trainable params: 203\n" in out
