"""Graph models (lamina.Model) against the same network written as a torch.nn.Module, float64:
outputs, every parameter gradient and every input gradient, then Adam steps, then a file."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import lamina
from lamina import layers as L

TOL = dict(rtol=1e-6, atol=1e-10)  # atol: for the few entries that round to ~0 on both sides


@pytest.fixture(autouse=True)
def float64():
    previous = lamina.floatx()
    lamina.set_floatx("float64")
    lamina.seed(0)
    yield
    lamina.set_floatx(previous)


# -- the networks -------------------------------------------------------------------------------
def two_heads():
    """A conv branch on an odd 9x7 image (stride 2, padding 1) and a dense branch on a vector,
    joined, then two heads: 10 class logits and one regression value."""
    image = lamina.Input((2, 9, 7), name="image")
    extra = lamina.Input((5,), name="extra")
    h = L.Conv2D(None, 3, 3, stride=2, padding=1, name="conv")(image)   # (3, 5, 4)
    h = L.Flatten(name="flat")(L.ReLU(name="relu")(h))                  # 60
    e = L.Tanh(name="tanh")(L.Linear(None, 6, name="dense")(extra))
    h = L.Concatenate(axis=1, name="join")([h, e])                       # 66
    digit = L.Linear(None, 10, name="digit")(h)
    size = L.Linear(None, 1, name="size")(h)
    return lamina.Model(inputs=[image, extra], outputs=[digit, size], name="two_heads")


class TorchTwoHeads(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 3, 3, stride=2, padding=1)
        self.dense = torch.nn.Linear(5, 6)
        self.digit = torch.nn.Linear(66, 10)
        self.size = torch.nn.Linear(66, 1)

    def forward(self, image, extra):
        h = torch.flatten(torch.relu(self.conv(image)), 1)
        h = torch.cat([h, torch.tanh(self.dense(extra))], 1)
        return self.digit(h), self.size(h)


def siamese():
    """One encoder (a shared Linear and a shared Tanh) on two inputs; their difference and
    product joined; a head of 3 logits."""
    left, right = lamina.Input((6,), name="left"), lamina.Input((6,), name="right")
    encoder, squash = L.Linear(None, 4, name="encoder"), L.Tanh(name="squash")
    a, b = squash(encoder(left)), squash(encoder(right))
    h = L.Concatenate(axis=1, name="join")(L.Subtract(name="diff")([a, b]),
                                            L.Multiply(name="prod")(a, b))
    score = L.Linear(None, 3, name="score")(h)
    return lamina.Model(inputs=[left, right], outputs=score, name="siamese")


class TorchSiamese(torch.nn.Module):
    """untied=True gives each input its own copy of the encoder (same starting weights)."""

    def __init__(self, untied=False):
        super().__init__()
        self.encoder = torch.nn.Linear(6, 4)
        self.encoder_right = torch.nn.Linear(6, 4) if untied else None
        self.score = torch.nn.Linear(8, 3)

    def forward(self, left, right):
        a = torch.tanh(self.encoder(left))
        b = torch.tanh((self.encoder_right or self.encoder)(right))
        return self.score(torch.cat([a - b, a * b], 1))


# -- weights across ------------------------------------------------------------------------------
def torch_layout(module, name, array):
    """lamina's Linear keeps weight as (in, out); torch's is (out, in)."""
    owner = module.get_submodule(name.rsplit(".", 1)[0])
    return array.T if isinstance(owner, torch.nn.Linear) and name.endswith("weight") else array


def copy_to_torch(model, module, rng):
    """Perturb lamina's weights (non-zero biases exercise every path), copy them into module."""
    theirs = dict(module.named_parameters())
    ours = model.named_parameters()
    assert sorted(name for name, _ in ours) == sorted(theirs), "parameter names differ"
    for name, p in ours:
        p.data = p.data + rng.uniform(-0.1, 0.1, p.shape)
        theirs[name].data = torch.tensor(torch_layout(module, name, p.data).copy())


def assert_weights_equal(model, module, **tol):
    theirs = dict(module.named_parameters())
    for name, p in model.named_parameters():
        assert p.data.dtype == np.float64, name
        np.testing.assert_allclose(torch_layout(module, name, p.data),
                                   theirs[name].detach().numpy(), **tol, err_msg=name)


def assert_gradients_equal(model, module, **tol):
    theirs = dict(module.named_parameters())
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.dtype == np.float64, name
        np.testing.assert_allclose(torch_layout(module, name, p.grad),
                                   theirs[name].grad.numpy(), **tol, err_msg=f"{name}.grad")


def tensors(arrays):
    return [torch.tensor(a, requires_grad=True) for a in arrays]


def forward_backward_match(model, module, inputs, rng):
    """Random douts through both: outputs, every parameter gradient, every input gradient."""
    outputs = model.forward(inputs)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    douts = [rng.standard_normal(out.shape) for out in outputs]
    model.zero_grad()
    grads = model.backward(douts if len(douts) > 1 else douts[0])
    assert isinstance(grads, list) and len(grads) == len(inputs)
    xs = tensors(inputs)
    theirs = module(*xs)
    theirs = theirs if isinstance(theirs, tuple) else (theirs,)
    torch.autograd.backward(theirs, [torch.from_numpy(d) for d in douts])
    assert len(outputs) == len(theirs)
    for i, (ours, expected) in enumerate(zip(outputs, theirs)):
        assert ours.dtype == np.float64
        np.testing.assert_allclose(ours, expected.detach().numpy(), **TOL, err_msg=f"output {i}")
    for i, (ours, x) in enumerate(zip(grads, xs)):
        assert ours.dtype == np.float64 and ours.shape == tuple(x.shape)
        np.testing.assert_allclose(ours, x.grad.numpy(), **TOL, err_msg=f"input gradient {i}")
    assert_gradients_equal(model, module, **TOL)


def adam_steps_match(model, module, batches, torch_loss, loss_of_outputs=None):
    """5 train_steps on fixed batches against torch.optim.Adam with the same settings."""
    their_opt = torch.optim.Adam(module.parameters(), lr=1e-2, betas=(0.8, 0.99), eps=1e-7)
    for step in range(5):
        inputs, targets = batches[step % len(batches)]
        loss, _ = model.train_step(inputs, targets)
        their_opt.zero_grad()
        their_loss = torch_loss(module(*[torch.tensor(a) for a in inputs]), targets)
        their_loss.backward()
        their_opt.step()
        np.testing.assert_allclose(loss, their_loss.item(), rtol=1e-6, err_msg=f"step {step}")
    assert_weights_equal(model, module, **TOL)


def round_trip_is_exact(model, inputs, path):
    model.save(path)
    loaded = lamina.load_model(path)
    assert type(loaded) is lamina.Model
    assert loaded.get_config() == model.get_config()
    assert [name for name, _ in loaded.named_parameters()] == \
        [name for name, _ in model.named_parameters()]  # a shared layer stays one layer
    ours, theirs = model.predict(inputs), loaded.predict(inputs)
    ours, theirs = (ours, theirs) if isinstance(ours, list) else ([ours], [theirs])
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert b.dtype == np.float64
        np.testing.assert_array_equal(a, b)


# -- the checks ----------------------------------------------------------------------------------
def test_two_inputs_two_outputs_match_pytorch(tmp_path):
    rng = np.random.default_rng(0)
    model, module = two_heads(), TorchTwoHeads().double()
    assert model.input_names == ["image", "extra"] and model.output_names == ["digit", "size"]
    copy_to_torch(model, module, rng)
    x, e = rng.standard_normal((8, 2, 9, 7)), rng.standard_normal((8, 5))
    y, s = rng.integers(0, 10, 8), rng.standard_normal((8, 1))
    forward_backward_match(model, module, [x, e], rng)

    # the training step: loss, its parameter gradients (weighted total, mean reductions)
    model.compile(loss={"digit": "cross_entropy", "size": "mse"}, loss_weights={"size": 0.1},
                  optimizer=lamina.optim.Adam(lr=1e-2, betas=(0.8, 0.99), eps=1e-7))

    def torch_loss(outputs, targets):
        return (TF.cross_entropy(outputs[0], torch.tensor(targets["digit"]))
                + 0.1 * TF.mse_loss(outputs[1], torch.tensor(targets["size"])))

    loss, outputs = model.compute_loss_and_gradients({"image": x, "extra": e},
                                                     {"digit": y, "size": s})
    module.zero_grad()
    their_outputs = module(torch.tensor(x), torch.tensor(e))
    their_loss = torch_loss(their_outputs, {"digit": y, "size": s})
    their_loss.backward()
    np.testing.assert_allclose(loss, their_loss.item(), rtol=1e-12)
    assert_gradients_equal(model, module, **TOL)

    batches = [([x[i:i + 4], e[i:i + 4]], {"digit": y[i:i + 4], "size": s[i:i + 4]})
               for i in (0, 4)]
    adam_steps_match(model, module, batches, torch_loss)
    round_trip_is_exact(model, [x, e], tmp_path / "two_heads.lamina")


def test_siamese_shares_its_encoder_and_matches_pytorch(tmp_path):
    rng = np.random.default_rng(1)
    model, module = siamese(), TorchSiamese().double()
    names = [name for name, _ in model.named_parameters()]
    assert sorted(names) == ["encoder.bias", "encoder.weight", "score.bias", "score.weight"]
    copy_to_torch(model, module, rng)
    left, right = rng.standard_normal((7, 6)), rng.standard_normal((7, 6))
    forward_backward_match(model, module, [left, right], rng)

    # the shared weight's gradient is the sum of its two uses: torch with the encoder untied
    untied = TorchSiamese(untied=True).double()
    untied.load_state_dict(module.state_dict(), strict=False)
    untied.encoder_right.load_state_dict(module.encoder.state_dict())
    labels = rng.integers(0, 3, 7)
    model.compile(loss="cross_entropy",
                  optimizer=lamina.optim.Adam(lr=1e-2, betas=(0.8, 0.99), eps=1e-7))
    loss, _ = model.compute_loss_and_gradients([left, right], labels)
    their_loss = TF.cross_entropy(untied(torch.tensor(left), torch.tensor(right)),
                                  torch.tensor(labels))
    their_loss.backward()
    np.testing.assert_allclose(loss, their_loss.item(), rtol=1e-12)
    uses, ours = [untied.encoder, untied.encoder_right], dict(model.named_parameters())
    np.testing.assert_allclose(ours["encoder.weight"].grad,
                               sum(m.weight.grad.numpy() for m in uses).T, **TOL)
    np.testing.assert_allclose(ours["encoder.bias"].grad,
                               sum(m.bias.grad.numpy() for m in uses), **TOL)

    def torch_loss(outputs, targets):
        return TF.cross_entropy(outputs, torch.tensor(targets))

    batches = [([left[:4], right[:4]], labels[:4]), ([left[4:], right[4:]], labels[4:])]
    adam_steps_match(model, module, batches, torch_loss)
    round_trip_is_exact(model, [left, right], tmp_path / "siamese.lamina")
