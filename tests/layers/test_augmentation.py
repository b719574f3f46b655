import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError, ShapeError
from lamina.gradcheck import check_layer

IMAGES = (3, 2, 5, 6)
LAYERS = {  # name -> factory of a layer that changes every image in training
    "RandomFlip": lambda: L.RandomFlip(),
    "RandomCrop": lambda: L.RandomCrop((4, 5), padding=2),
    "RandomCropSameSize": lambda: L.RandomCrop((5, 6), padding=(1, 2)),
    "RandomTranslation": lambda: L.RandomTranslation(0.3, (-0.4, 0.2), fill_mode="constant",
                                                     fill_value=0.5),
    "RandomTranslationNearest": lambda: L.RandomTranslation(0.5, 0.5, interpolation="nearest",
                                                            fill_mode="wrap"),
    "RandomRotation": lambda: L.RandomRotation(0.2),
    "RandomRotationNearest": lambda: L.RandomRotation((-0.1, 0.3), fill_mode="nearest",
                                                      interpolation="nearest"),
    "RandomErasing": lambda: L.RandomErasing(p=0.9, scale=(0.1, 0.5), value=[1.0, -2.0]),
}


def images(dtype=np.float64, shape=IMAGES):
    return np.random.default_rng(5).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_gradient_in_training_with_a_fixed_seed(name):
    layer = LAYERS[name]()
    layer.rng = 3  # an int: every forward draws the same parameters, so the map is fixed
    assert check_layer(layer, IMAGES)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_eval_mode_is_the_identity_forward_and_backward(name):
    layer, x = LAYERS[name]().eval(), images(np.float32)
    if name == "RandomCrop":  # a smaller window: the centre one
        np.testing.assert_array_equal(layer.forward(x), x[:, :, 0:4, 0:5])
        return
    out = layer.forward(x)
    np.testing.assert_array_equal(out, x)
    assert out is not x and out.dtype == np.float32
    np.testing.assert_array_equal(layer.backward(2 * x), 2 * x)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_training_changes_images_and_keeps_dtype_and_shape(name):
    layer, x = LAYERS[name](), images(np.float32, (8,) + IMAGES[1:])
    lamina.seed(0)
    out = layer.forward(x)
    assert out.dtype == np.float32 and out.shape == layer.output_shape(x.shape)
    if out.shape == x.shape:
        assert not np.array_equal(out, x)
    assert layer.backward(out, input_grad=False) is None and layer.can_skip_input_grad


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_seed_makes_the_draws_reproducible(name):
    x = images()
    lamina.seed(7)
    first = LAYERS[name]().forward(x)
    lamina.seed(7)
    np.testing.assert_array_equal(LAYERS[name]().forward(x), first)
    assert not np.array_equal(LAYERS[name]().forward(images(shape=(16,) + IMAGES[1:]))[:3],
                              first)  # the generator moved on


def test_predict_never_augments_and_writes_nothing_on_the_layers():
    model = lamina.Sequential([factory() for name, factory in sorted(LAYERS.items())
                               if name not in ("RandomCrop",)] + [L.Flatten(), L.Linear(60, 2)])
    x = images(np.float32)
    model.build((None,) + IMAGES[1:])
    model.forward(x)  # training: every layer keeps a cache
    before = [dict(vars(layer)) for layer in model.layers[:-2]]
    with lamina.inference_mode():
        np.testing.assert_array_equal(model.forward(x), model.layers[-1].forward(x.reshape(3, -1)))
    for layer, state in zip(model.layers[:-2], before):  # nothing rebound, the caches kept
        assert layer.training and vars(layer).keys() == state.keys()
        assert all(vars(layer)[key] is value for key, value in state.items())
    np.testing.assert_array_equal(model.predict(x), model.layers[-1].forward(x.reshape(3, -1)))


def test_flip_probability_is_one_half_per_image():
    layer, x = L.RandomFlip("horizontal"), images(shape=(4000, 1, 2, 3))
    lamina.seed(1)
    out = layer.forward(x)
    flipped = np.all(out == x[..., ::-1], axis=(1, 2, 3))
    assert (flipped | np.all(out == x, axis=(1, 2, 3))).all()
    assert abs(flipped.mean() - 0.5) < 0.03


def test_crops_cover_every_offset_and_pad_with_zeros():
    layer = L.RandomCrop((2, 3), padding=(1, 1, 0, 1))  # left 1, top 1, right 0, bottom 1
    x = np.arange(1.0, 13.0).reshape(1, 1, 3, 4).repeat(3000, axis=0)
    lamina.seed(2)
    out = layer.forward(x)
    padded = np.pad(x[0, 0], ((1, 1), (1, 0)))  # 5 x 5: 4 x 3 corner positions
    windows = {(i, j): padded[i:i + 2, j:j + 3] for i in range(4) for j in range(3)}
    assert len({window.tobytes() for window in windows.values()}) == 12
    found = [next(key for key, window in windows.items() if np.array_equal(crop, window))
             for crop in out[:, 0]]
    counts = np.bincount([i * 3 + j for i, j in found], minlength=12)
    assert counts.min() > 3000 / 12 * 0.8


def test_rotation_by_a_quarter_turn_is_exact_and_counter_clockwise():
    layer, x = L.RandomRotation((0.25, 0.25), fill_mode="constant"), images(shape=(2, 3, 4, 4))
    np.testing.assert_array_equal(layer.forward(x), np.rot90(x, 1, axes=(2, 3)))


def test_quarter_turns_only_rotate_by_whole_quarters():
    lamina.seed(3)
    layer, x = L.RandomRotation(0.5, quarter_turns=True), images(shape=(400, 1, 5, 5))
    out = layer.forward(x)
    turned = [[np.array_equal(o, np.rot90(a, k, axes=(1, 2))) for k in range(4)]
              for o, a in zip(out, x)]
    assert all(any(row) for row in turned)  # every image is an exact quarter turn of itself
    counts = np.sum(turned, axis=0)  # k in -2..2: 0 and 2 (as -2) twice as often as 1, 3
    assert counts.min() > 40 and counts[2] > counts[1]
    assert L.RandomRotation(0.5, quarter_turns=True).get_config()["quarter_turns"] is True
    with pytest.raises(ConfigError, match="quarter turn"):
        L.RandomRotation(0.1, quarter_turns=True)
    with pytest.raises(ShapeError, match="square"):
        L.RandomRotation(0.25, quarter_turns=True).forward(images(shape=(2, 1, 4, 5)))


def test_translation_by_a_whole_fraction_moves_whole_pixels():
    layer, x = L.RandomTranslation((0.5, 0.5), (-0.25, -0.25), fill_mode="constant"), images()
    out = layer.forward(x[:, :, :4, :4])  # down 2 rows, left 1 column
    np.testing.assert_array_equal(out[:, :, 2:, :3], x[:, :, :2, 1:4])
    assert not out[:, :, :2].any() and not out[:, :, :, 3].any()


def test_erasing_zeroes_the_gradient_inside_the_box():
    layer, x = L.RandomErasing(p=1.0, value=0.25), images(shape=(50, 1, 8, 8))
    out = layer.forward(x)
    erased = out != x
    assert erased.any(axis=(1, 2, 3)).all() and np.all(out[erased] == 0.25)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), (~erased).astype(float))


def test_config_round_trips_and_names_arguments_as_keras_and_torchvision():
    assert L.RandomCrop(32, padding=4).get_config() == {
        "size": [32, 32], "padding": [4, 4, 4, 4], "name": "random_crop"}
    assert L.RandomTranslation(0.1, (0.0, 0.2)).get_config() == {
        "height_factor": 0.1, "width_factor": [0.0, 0.2], "fill_mode": "reflect",
        "interpolation": "bilinear", "fill_value": 0.0, "name": "random_translation"}
    assert L.RandomErasing().get_config() == {"p": 0.5, "scale": [0.02, 0.33],
                                              "ratio": [0.3, 3.3], "value": 0.0,
                                              "name": "random_erasing"}


@pytest.mark.parametrize("make, message", [
    (lambda: L.RandomFlip("diagonal"), r"RandomFlip expects mode as one of 'horizontal', "
                                       r"'vertical', 'horizontal_and_vertical'. "
                                       r"Received: mode='diagonal'"),
    (lambda: L.RandomCrop(0), r"RandomCrop expects size >= 1. Received: size=0"),
    (lambda: L.RandomCrop(4, padding=-1), r"RandomCrop expects padding as an int >= 0.*"
                                          r"Received: padding=-1"),
    (lambda: L.RandomCrop(4, padding=(1, 2, 3)), r"Received: padding=\(1, 2, 3\)"),
    (lambda: L.RandomTranslation(1.5, 0.1), r"RandomTranslation expects height_factor as a "
                                            r"finite real number in \[-1, 1\]. "
                                            r"Received: height_factor=1.5"),
    (lambda: L.RandomTranslation(0.1, (0.3, 0.1)), r"width_factor with lower <= upper"),
    (lambda: L.RandomTranslation(0.1, 0.1, fill_mode="mirror"), r"Received: fill_mode='mirror'"),
    (lambda: L.RandomRotation("0.1"), r"RandomRotation expects factor .* Received: factor='0.1'"),
    (lambda: L.RandomRotation(0.1, interpolation="cubic"), r"Received: interpolation='cubic'"),
    (lambda: L.RandomErasing(p=2), r"RandomErasing expects p .* Received: p=2"),
    (lambda: L.RandomErasing(scale=0.1), r"RandomErasing expects scale as a pair"),
    (lambda: L.RandomErasing(ratio=(0, 1)), r"RandomErasing expects ratio > 0"),
    (lambda: L.RandomErasing(value="random"), r"RandomErasing expects value .* "
                                              r"Received: value='random'"),
])
def test_bad_arguments_name_the_layer(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


def test_bad_inputs_name_the_layer():
    with pytest.raises(ShapeError, match=r"RandomFlip 'random_flip' expects input with 4 "
                                         r"dimensions \(N, C, H, W\)"):
        L.RandomFlip().forward(np.zeros((2, 3)))
    with pytest.raises(ShapeError, match=r"RandomCrop 'random_crop' expects images of at least "
                                         r"\(8, 8\) .* Received: x.shape=\(1, 1, 5, 5\)"):
        L.RandomCrop(8, padding=1).forward(np.zeros((1, 1, 5, 5)))
    with pytest.raises(ShapeError, match=r"RandomErasing 'random_erasing' expects 2 channels"):
        L.RandomErasing(value=[1.0, 2.0]).forward(np.zeros((1, 3, 5, 5)))
    with pytest.raises(ShapeError, match=r"expects images of at least"):
        lamina.Sequential([L.RandomCrop(8)]).build((None, 1, 5, 5))
    with pytest.raises(ShapeError, match=r"expects 2 channels \(one value each\)"):
        lamina.Sequential([L.RandomErasing(value=[1.0, 2.0])]).build((None, 1, 5, 5))
    L.RandomErasing(value=[1.0]).forward(np.zeros((1, 3, 5, 5)))  # one value for every channel


def test_a_model_with_augmentation_trains_and_round_trips(tmp_path):
    lamina.seed(0)
    model = lamina.Sequential([L.Rescaling(0.5), L.RandomFlip(), L.RandomCrop(6, padding=1),
                               L.RandomTranslation(0.1, 0.1), L.RandomRotation(0.05),
                               L.RandomErasing(), L.Conv2D(2, 3, 3), L.Flatten(),
                               L.Linear(None, 2), L.Softmax()])
    x = images(np.float32, (32, 2, 6, 6))
    y = (x[:, 0].mean(axis=(1, 2)) > 0).astype(int)
    model.compile(loss="cross_entropy", optimizer="adam")
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    model.save(tmp_path / "m.lamina")
    loaded = lamina.load_model(tmp_path / "m.lamina")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
