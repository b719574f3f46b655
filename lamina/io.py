"""Model files: lamina's models in one safetensors file (lamina.safetensors), never pickled.

A lamina model file (save_model / load_model) keeps state_dict()'s arrays under their names,
the optimizer's arrays under "optimizer/<position>/<key>", and JSON strings in the metadata:
"lamina.format", "lamina.format_version", "lamina.version", "lamina.architecture" (from
layers.container.serialize), and where they apply "lamina.input_shape", "lamina.frozen",
"lamina.compile" (loss, optimizer, metrics) and "lamina.optimizer" (the optimizer's numbers).
"lamina.frozen" names every frozen parameter (Parameter.trainable False); a frozen layer
(layer.trainable = False) also says "trainable": false in the architecture.
Format version 2 adds the checksum (see lamina.safetensors, which also holds the format and
its limits; its save/load functions are importable from here too) and requires it; version 1
files (lamina 0.1.0) have none and still load, unverified.
"""

import json
import os

import numpy as np

from lamina import init, losses, metrics
from lamina.backend import private_generator
from lamina.errors import ConfigError, LaminaError, ModelFileError, NotBuiltError
from lamina.layers.base import Layer
from lamina.layers.container import deserialize, named_layers, serialize
from lamina.optim.optimizer import Optimizer
from lamina.safetensors import CHECKSUM_KEY, load_safetensors, save_safetensors, short_repr
from lamina.shape_only import shape_only

__all__ = ["ModelFileError", "save_safetensors", "load_safetensors", "save_model", "load_model",
           "read_model_file"]

FORMAT, FORMAT_VERSION = "lamina-model", "2"
READABLE_VERSIONS = ("1", "2")  # version 1: lamina 0.1.0, without a checksum
OPTIMIZER_PREFIX, EXTRA_PREFIX = "optimizer/", "x/"
_REQUIRED = object()
_FILE_FLOATS = (np.float16, np.float32, np.float64)  # float16 loads as float32


def save_model(model, path, include_optimizer=True, *, extra_metadata=None, extra_tensors=None):
    """Write `model` to one safetensors file at `path`, atomically (see the module docstring).

    The file holds state_dict() (weights and buffers in their own dtypes), the architecture
    as JSON and, when the model is compiled, its loss, optimizer and metrics; with
    include_optimizer also the optimizer's state, so that load_model resumes training
    exactly. An initialiser given as a lamina.init function is stored by its name; any other
    value JSON cannot hold (a user-defined function, say) is a ConfigError, raised before
    the file is touched.

    extra_metadata (str -> str, keys starting "x.") and extra_tensors (name -> array, names
    starting "x/") travel in the same atomic write: a training checkpoint is a model file
    with its own entries there. read_model_file gives them back.
    """
    from lamina import __version__

    for key in extra_metadata or {}:
        if not (isinstance(key, str) and key.startswith("x.")):
            raise ConfigError(f"save_model: extra metadata keys start with 'x.'. Received: {key!r}")
    for key in extra_tensors or {}:
        if not (isinstance(key, str) and key.startswith(EXTRA_PREFIX)):
            raise ConfigError(f"save_model: extra tensor names start with {EXTRA_PREFIX!r}. "
                              f"Received: {key!r}")

    if not isinstance(model, Layer):
        raise ConfigError(f"save_model expects a lamina Layer, such as a Sequential. "
                          f"Received: {type(model).__name__}")
    if not model.built:
        raise NotBuiltError(f"save_model: {model.describe()} is not built yet, so it has no "
                            f"weights. Call model.build(input_shape) or run it on a batch first.")
    tensors = model.state_dict()
    metadata = {"lamina.format": FORMAT, "lamina.format_version": FORMAT_VERSION,
                "lamina.version": __version__,
                "lamina.architecture": to_json(serialize(model), "architecture")}
    input_shape = getattr(model, "input_shape", None)
    if input_shape is not None:
        metadata["lamina.input_shape"] = to_json(list(input_shape), "input_shape")
    frozen = [name for name, p in model.named_parameters() if not p.trainable]
    if frozen:
        metadata["lamina.frozen"] = json.dumps(frozen)
    if getattr(model, "loss", None) is not None:
        metadata["lamina.compile"] = to_json(compile_settings(model), "compile settings")
        if include_optimizer:
            state, arrays = _split_optimizer_state(model.optimizer.state_dict())
            metadata["lamina.optimizer"] = to_json(state, "optimizer state")
            tensors.update(arrays)
    metadata.update(extra_metadata or {})
    tensors.update(extra_tensors or {})
    save_safetensors(path, tensors, metadata, checksum=True, writer="save_model")


def to_json(value, where):
    """`value` as JSON text (lamina.init functions by name); a ConfigError naming `where` for
    anything else JSON cannot hold. Also how lamina.distributed sends a model to workers."""
    return json.dumps(_json_ready(value, where))


def _json_ready(value, where):
    """`value` with lamina.init functions replaced by their names; an error for non-JSON values."""
    if isinstance(value, dict):
        if {"class_name", "config"} <= set(value) and isinstance(value["config"], dict):
            name = value["config"].get("name")
            where = f"{value['class_name']} {name!r}" if name else str(value["class_name"])
        bad_key = next((key for key in value if not isinstance(key, str)), None)
        if bad_key is not None:
            raise ConfigError(f"save_model: JSON keys must be strings. Received: {bad_key!r} "
                              f"in {where}")
        return {key: _json_ready(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    if callable(value) and init.INITIALIZERS.get(getattr(value, "__name__", None)) is value:
        return value.__name__
    hint = (f" Pass an initializer by name, one of {sorted(init.INITIALIZERS)}"
            if callable(value) else " Use str, number, bool, None, list or dict values")
    raise ConfigError(f"save_model cannot write {where}={short_repr(value)} to the file's JSON.{hint}.")


def compile_settings(model):
    """{"loss", "optimizer", "metrics"[, "loss_weights"]}: what compile() needs to be called
    again. A model with several outputs keeps loss and metrics as dicts by output name."""
    def stored_loss(loss):
        if not isinstance(loss, losses.Loss):
            raise ConfigError(f"save_model cannot store the loss {short_repr(loss)}: a plain "
                              f"function cannot go into a file. Compile with a named loss or an "
                              f"instance of a lamina.losses.Loss subclass (found again by class "
                              f"name on load).")
        return {"class_name": type(loss).__name__, "config": loss.get_config()}

    def stored_metrics(listed):
        stored = [metrics.serialize(metric) for metric in listed]
        for metric, entry in zip(listed, stored):
            if entry is None:
                raise ConfigError(f"save_model cannot store the metric {short_repr(metric)}: a file "
                                  f"holds only named metrics, one of {sorted(metrics.METRICS)}, "
                                  f"or lamina.metrics instances")
        return stored

    several = isinstance(model.loss, dict)
    settings = {
        "loss": ({name: stored_loss(loss) for name, loss in model.loss.items()} if several
                 else stored_loss(model.loss)),
        "optimizer": {"class_name": type(model.optimizer).__name__,
                      "config": model.optimizer.get_config()},
        "metrics": ({name: stored_metrics(listed) for name, listed in model.metrics.items()}
                    if several else stored_metrics(model.metrics))}
    if getattr(model, "loss_weights", None) is not None:
        settings["loss_weights"] = dict(model.loss_weights)
    return settings


def _split_optimizer_state(state_dict):
    """Optimizer.state_dict() -> (its numbers, JSON-ready; {"optimizer/<pos>/<key>": array})."""
    numbers = {key: value for key, value in state_dict.items() if key != "state"}
    numbers["state"], arrays = {}, {}
    for position, entry in state_dict["state"].items():
        numbers["state"][str(position)] = {}
        for key, value in entry.items():
            if isinstance(value, np.ndarray):
                arrays[f"{OPTIMIZER_PREFIX}{position}/{key}"] = value
            else:
                numbers["state"][str(position)][key] = value
    return numbers, arrays


def load_model(path, compile=True):
    """Rebuild a model written by save_model.

    Restores the architecture, the weights and buffers (bit for bit, in their saved dtypes)
    and, with compile=True, the loss, metrics, optimizer and optimizer state, so that fit
    goes on exactly where it stopped. Loading draws no random numbers: lamina's global
    generator is left as it was, so threads may load while others train or predict. A
    corrupted, truncated or foreign file raises ModelFileError. Import the modules defining
    user-defined layers, losses and optimizers before loading: they are found by class name.

    A file is believed only as far as its tensors go: before any layer is built, the shape
    of every parameter and buffer its architecture implies (and its recorded input shape, for
    lazy layers) is computed without allocating it and compared with the tensor the file
    holds, so a file describing Linear(10**6, 10**6) over a (2, 3) tensor is a ModelFileError
    naming the layer, the tensor and both shapes, never a huge allocation. Weights and
    buffers must be float32 or float64, each kept as saved (a model mixing the two loads
    mixed, as it was saved); float16 ones load as float32 (exactly: lamina computes in
    float32 and float64 only); integer or bool ones are refused, as is optimizer state of
    such a dtype or of another shape than its parameter's.
    """
    return read_model_file(path, compile)[0]


def read_model_file(path, compile=True):
    """(model, metadata, extra_tensors): load_model's model, the file's whole metadata
    (str -> str) and the tensors save_model was given as extra_tensors (names "x/...").

    The format and its version are checked before any tensor is read, the checksum
    (required from format version 2 on) before any layer is built, and the shapes and dtypes
    the architecture implies against the tensors before any layer is allocated."""
    def fail(reason):
        return ModelFileError(f"'{os.fspath(path)}' cannot be loaded as a lamina model: {reason}")

    tensors, metadata = load_safetensors(path, lambda metadata: _check_format(metadata, fail))
    extra = {name: a for name, a in tensors.items() if name.startswith(EXTRA_PREFIX)}
    weights = {name: a for name, a in tensors.items()
               if not name.startswith((OPTIMIZER_PREFIX, EXTRA_PREFIX))}
    with private_generator():  # building a layer draws initial weights, replaced at once
        model = _rebuild(metadata, weights, fail)
        if compile and "lamina.compile" in metadata:
            _restore_training(model, metadata, tensors, fail)
    return model, metadata, extra


def _check_format(metadata, fail):
    """The file is a lamina model of a version this lamina reads, with the checksum it requires."""
    if metadata.get("lamina.format") != FORMAT:
        raise fail("its metadata has no lamina.format entry (a plain safetensors file? "
                   "read those with load_safetensors)")
    version = metadata.get("lamina.format_version")
    readable = " and ".join(READABLE_VERSIONS)
    if version not in READABLE_VERSIONS:
        if (isinstance(version, str) and version.isascii() and version.isdigit()
                and int(version) > int(FORMAT_VERSION)):
            raise fail(f"it was written by a newer lamina (format version {version}); this "
                       f"lamina reads versions {readable}. Upgrade lamina to load it")
        raise fail(f"it has format version {short_repr(version)}; this lamina reads versions "
                   f"{readable}")
    if version != "1" and CHECKSUM_KEY not in metadata:
        raise fail(f"format version {version} files carry a {CHECKSUM_KEY} entry, and its "
                   f"metadata has none: the file was altered after it was written")


def _json_entry(metadata, key, fail, default=_REQUIRED):
    if key not in metadata:
        if default is _REQUIRED:
            raise fail(f"its metadata has no {key} entry")
        return default
    try:
        return json.loads(metadata[key])
    except (ValueError, RecursionError) as error:
        raise fail(f"its {key} entry is not valid JSON: {error}") from None


def _rebuild(metadata, weights, fail):
    """The architecture, built, holding the file's weights and buffers in the file's dtypes.

    It is first built shape-only (lamina.shape_only: nothing allocated), and every parameter
    and buffer it implies is compared with the tensor the file holds, by name, shape and
    dtype (see _checked_state), so that a file describing a layer far larger than its
    tensors fails here instead of allocating what it describes."""
    architecture = _json_entry(metadata, "lamina.architecture", fail)
    input_shape = _input_shape(metadata, fail)
    frozen = _json_entry(metadata, "lamina.frozen", fail, [])
    if not (isinstance(frozen, list) and all(isinstance(name, str) for name in frozen)):
        raise fail(f"its lamina.frozen entry must list parameter names. Received: {short_repr(frozen)}")
    # Bounded by what the file holds (with room to name a few missing tensors), so a layer
    # count that lies fails at once instead of describing a billion layers.
    with shape_only(max_arrays=2 * len(weights) + 16):
        skeleton = _construct(architecture, input_shape, fail)
    weights = _checked_state(skeleton, weights, fail)
    model = _construct(architecture, input_shape, fail)
    params = dict(model.named_parameters())
    for name, p in params.items():
        if p.dtype != weights[name].dtype:
            p.data = p.data.astype(weights[name].dtype)
    for name, value in model.buffers().items():
        if value.dtype != weights[name].dtype:
            model.set_buffer(name, value.astype(weights[name].dtype))
    try:
        model.load_state_dict(weights)
    except LaminaError as error:
        raise fail(f"its weights do not fit the architecture it describes: {error}") from error
    unknown = [name for name in frozen if name not in params]
    if unknown:
        raise fail(f"it marks parameters {unknown} as frozen, which the model does not have")
    for name, p in params.items():  # the list is the whole truth, whatever layers say
        p.trainable = name not in frozen
    return model


def _input_shape(metadata, fail):
    """The recorded input shape (batch first; None where a size is unknown), or None."""
    shape = _json_entry(metadata, "lamina.input_shape", fail, None)
    if shape is not None and not (isinstance(shape, list) and len(shape) >= 2 and all(
            size is None or (type(size) is int and size >= 1) for size in shape)):
        raise fail(f"its lamina.input_shape entry must list the input's sizes, batch first "
                   f"(ints >= 1, or null where unknown). Received: {short_repr(shape)}")
    return None if shape is None else tuple(shape)


def _construct(architecture, input_shape, fail):
    """deserialize(architecture), built for input_shape (checked against it when already built)."""
    try:
        model = deserialize(architecture)
        if not model.built:
            if input_shape is None:
                raise NotBuiltError(f"{model.describe()} has layers whose size is inferred when "
                                    f"it is built, and the file records no input shape")
            model.build(input_shape)
        elif input_shape is not None:
            model.output_shape(input_shape)
    except (LaminaError, TypeError, KeyError, ValueError, AttributeError,
            RecursionError) as error:
        raise fail(f"cannot rebuild the architecture it describes: {error}") from error
    return model


def _checked_state(skeleton, tensors, fail):
    """The file's weights and buffers (name -> array), once each is the one the architecture
    implies (skeleton: its shape-only build): the same names, the same shapes, and a dtype of
    the same kind. Floating state must be float32 or float64 (each tensor keeps its own, so a
    model that mixes them loads as it was saved); float16 is converted to float32, exactly.
    State a layer makes integer or bool must have the dtype the layer gives it. A mismatch is
    a ModelFileError naming the layer, the tensor, what the architecture implies and what the
    file holds."""
    expected = {name: p.data for name, p in skeleton.named_parameters()} | skeleton.buffers()
    missing = [name for name in expected if name not in tensors]
    unexpected = [name for name in tensors if name not in expected]
    if missing or unexpected:
        raise fail(f"its weights do not fit the architecture it describes, which has the "
                   f"entries {short_repr(list(expected), 200)}. Missing: {short_repr(missing, 200)}; "
                   f"unexpected: {short_repr(unexpected, 200)}")
    owners = sorted(named_layers(skeleton), key=lambda item: -len(item[0]))
    problems = []
    for name, spec in expected.items():
        array = tensors[name]
        prefix, layer = next((prefix, layer) for prefix, layer in owners if name.startswith(prefix))
        where = f"{layer.describe()} {name[len(prefix):]}"
        if tuple(array.shape) != tuple(spec.shape):
            problems.append(f"{where}: the architecture implies shape {tuple(spec.shape)}, the "
                            f"file's tensor {name!r} has shape {tuple(array.shape)}")
        elif spec.dtype.kind == "f" and array.dtype not in _FILE_FLOATS:
            problems.append(f"{where}: the architecture makes it floating (float32 or float64; "
                            f"float16 is converted to float32), the file's tensor {name!r} is "
                            f"{array.dtype}")
        elif spec.dtype.kind != "f" and array.dtype != spec.dtype:
            problems.append(f"{where}: the architecture makes it {spec.dtype}, the file's tensor "
                            f"{name!r} is {array.dtype}")
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise fail(f"its tensors are not what the architecture it describes implies: "
                   f"{'; '.join(problems[:5])}{more}")
    return {name: array.astype(np.float32) if array.dtype == np.float16 else array
            for name, array in tensors.items()}


def _restore_training(model, metadata, tensors, fail):
    """compile() the model as it was and give the optimizer its saved state."""
    settings = _json_entry(metadata, "lamina.compile", fail)
    state = _json_entry(metadata, "lamina.optimizer", fail, None)
    try:
        optimizer = instantiate(Optimizer, settings["optimizer"])
        loss = settings["loss"]
        loss = ({name: instantiate(losses.Loss, spec) for name, spec in loss.items()}
                if "class_name" not in loss else instantiate(losses.Loss, loss))
        model.compile(loss=loss, optimizer=optimizer, metrics=settings["metrics"],
                      loss_weights=settings.get("loss_weights"))
        if state is not None:
            parameters = model.parameters()
            state = _join_optimizer_state(state, tensors, model.named_parameters())
            for position, entry in state["state"].items():
                missing = set(optimizer._init_state(parameters[position].data)) - set(entry)
                if missing:
                    raise ValueError(f"the optimizer state of parameter {position} lacks "
                                     f"{sorted(missing)}")
            optimizer.load_state_dict(state, parameters=parameters)
    except (LaminaError, TypeError, KeyError, ValueError, AttributeError) as error:
        raise fail(f"cannot restore its compile settings and optimizer state: {error}") from error


def instantiate(base, spec):
    """An instance of the subclass of `base` named spec["class_name"], user-defined ones too."""
    classes, pending = {}, [base]
    while pending:
        for sub in pending.pop().__subclasses__():
            classes.setdefault(sub.__name__, sub)
            pending.append(sub)
    cls = classes.get(spec["class_name"])
    if cls is None:
        raise ConfigError(f"unknown {base.__name__} class {spec['class_name']!r}: import the "
                          f"module that defines it before load_model. Known: {sorted(classes)}")
    return cls(**spec["config"])


def _join_optimizer_state(numbers, tensors, named_parameters):
    """The inverse of _split_optimizer_state, checking positions against the model's
    parameters and each state tensor against its parameter: the same shape, a floating dtype
    (float16, float32, float64: the optimizer keeps it in its parameter's dtype)."""
    count, entries = len(named_parameters), {}
    for position, scalars in numbers["state"].items():
        if not position.isdigit() or int(position) >= count:
            raise ValueError(f"optimizer state for parameter {position!r}, but the model has "
                             f"{count} parameters")
        entries[int(position)] = dict(scalars)
    for name, array in tensors.items():
        if name.startswith(OPTIMIZER_PREFIX):
            position, _, key = name[len(OPTIMIZER_PREFIX):].partition("/")
            if not (position.isdigit() and int(position) in entries and key):
                raise ValueError(f"tensor {name!r} belongs to no parameter's optimizer state")
            owner, param = named_parameters[int(position)]
            if array.shape != param.shape:
                raise ValueError(f"tensor {name!r} has shape {array.shape}, but it holds "
                                 f"optimizer state of parameter {owner!r}, of shape {param.shape}")
            if array.dtype not in _FILE_FLOATS:
                raise ValueError(f"tensor {name!r} is {array.dtype}; optimizer state is floating "
                                 f"(float16, float32 or float64)")
            entries[int(position)][key] = array
    return {**{key: value for key, value in numbers.items() if key != "state"}, "state": entries}
