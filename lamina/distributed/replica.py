"""Model replicas on workers, rebuilt from plain data: JSON and arrays, never live objects.

``model_spec(model)`` describes a compiled model as JSON-ready values (the architecture from
layers.container.serialize, the input shape, each state entry's dtype, the frozen
parameters, the loss and metrics by name); ``replica(spec)`` rebuilds it in a worker, once
per worker process (cached by the spec's digest, so a round only loads new weights into it).
The optimizer travels separately (``optimizer_spec``), since callbacks change its settings
between rounds. Layers, losses and optimizers are found by class name, so a worker must
import the modules that define user-defined ones, as load_model needs.
"""

import collections
import hashlib
import json

from lamina import losses
from lamina.backend import private_generator
from lamina.errors import ConfigError, DistributedError
from lamina.io import compile_settings, instantiate, to_json
from lamina.layers.container import deserialize, serialize, walk_layers
from lamina.optim.optimizer import Optimizer

__all__ = ["model_spec", "optimizer_spec", "replica", "build_optimizer", "load_state", "walk"]

_CACHE_SIZE = 2
_replicas = collections.OrderedDict()


def model_spec(model, where="DistributedTrainer"):
    """JSON-ready description of a built, compiled model, with its digest under "key"."""
    try:
        settings = compile_settings(model)
        architecture = to_json(serialize(model), "architecture")
    except ConfigError as error:
        raise DistributedError(f"{where} sends the model to workers as JSON and it cannot "
                               f"be written so: {error}") from error
    spec = {"architecture": architecture, "input_shape": list(model.input_shape),
            "dtypes": {name: str(array.dtype) for name, array in model.state_dict().items()},
            "frozen": [name for name, p in model.named_parameters() if not p.trainable],
            "loss": settings["loss"], "metrics": settings["metrics"]}
    text = json.dumps(spec, sort_keys=True)
    spec["key"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return spec


def optimizer_spec(optimizer):
    """{"class_name", "config"} of an optimizer, rebuilt by build_optimizer."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def build_optimizer(spec):
    return instantiate(Optimizer, spec)


def replica(spec):
    """The compiled model `spec` describes, built once per process and reused afterwards.

    Its weights are whatever the last round loaded: call load_state before using it.
    """
    model = _replicas.get(spec["key"])
    if model is None:
        model = _build(spec)
        _replicas[spec["key"]] = model
        while len(_replicas) > _CACHE_SIZE:
            _replicas.popitem(last=False)
    _replicas.move_to_end(spec["key"])
    return model


def _build(spec):
    with private_generator():  # building draws initial weights; leave the global one be
        model = deserialize(json.loads(spec["architecture"]))
        model.build(tuple(spec["input_shape"]))
        loss = instantiate(losses.Loss, spec["loss"])
    params = dict(model.named_parameters())
    for name, dtype in spec["dtypes"].items():
        if name in params and str(params[name].dtype) != dtype:
            params[name].data = params[name].data.astype(dtype)
        elif name not in params and str(model.buffers()[name].dtype) != dtype:
            model.set_buffer(name, model.buffers()[name].astype(dtype))
    for name, p in params.items():
        p.trainable = name not in spec["frozen"]
    return model.compile(loss=loss, optimizer="sgd", metrics=spec["metrics"])


def load_state(model, arrays):
    """Load state_dict() values (parameters then buffers, in state_dict order) into model."""
    names = [name for name, _ in model.named_parameters()] + list(model.buffers())
    model.load_state_dict(dict(zip(names, arrays, strict=True)))


walk = walk_layers  # layer and every layer inside it, depth first, in order
