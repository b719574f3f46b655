"""The layer registry: which class a model file's "class_name" names, and back.

A model file (and a Spark replica) stores each layer as {"class_name": key, "config": ...}.
The key of a layer class is the name it is registered under:

- lamina's own layers, every Layer subclass defined inside the ``lamina`` package (its module
  is ``lamina`` or ``lamina.*``) whose name has no leading underscore, register themselves when
  their class is created (Layer.__init_subclass__), under their bare class name: "Conv2D",
  "Sequential", "ChannelSlice", as every lamina model file stores them.
- Any other layer is registered explicitly with ``@register_layer``, by default as
  "<module>.<ClassName>" ("mypkg.blocks.Gain"), as Keras' register_keras_serializable
  ("package>Name"): a user layer is never found by its bare name, which another package
  may also use.

    @lamina.register_layer                      # key "mypkg.blocks.Gain"
    class Gain(lamina.Layer): ...

    @lamina.register_layer(name="mypkg.Gain")   # a key of your own (stable across moves)
    class Gain(lamina.Layer): ...

A class serializes as the key it was first registered under; an unregistered user class as the
key @register_layer would give it, so its files load once the class is registered.
"""

import inspect

from lamina.errors import ConfigError

_classes = {}  # key -> class
_keys = {}  # class -> the key serialize writes


def default_key(cls):
    """The key register_layer gives `cls` without a name: "<module>.<ClassName>"."""
    return f"{cls.__module__}.{cls.__name__}"


def is_lamina_class(cls):
    """Whether `cls` is one of lamina's own (defined inside the lamina package, not private),
    which registers itself under its bare name."""
    module = cls.__module__
    return (module == "lamina" or module.startswith("lamina.")) and not cls.__name__.startswith("_")


def _same_class(old, new):
    """One class defined twice by the same code (a module reload, a re-run notebook cell)."""
    return old is new or (old.__module__, old.__qualname__) == (new.__module__, new.__qualname__)


def _where(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def add(cls, key):
    """Register `cls` under `key`; a ConfigError if another class holds the key."""
    if not isinstance(key, str) or not key:
        raise ConfigError(f"register_layer expects name as a non-empty string. "
                          f"Received: name={key!r} for {_where(cls)}")
    held = _classes.get(key)
    if held is not None and not _same_class(held, cls):
        raise ConfigError(f"register_layer cannot register {_where(cls)} as {key!r}: that key "
                          f"already names {_where(held)}. Register it under another name, "
                          f"@register_layer(name='mypkg.{cls.__name__}')")
    if held is not None and held is not cls:
        _keys.pop(held, None)  # the reloaded class replaces its old definition
    _classes[key] = cls
    _keys.setdefault(cls, key)  # a second name is an alias: files that store it load too
    return cls


def register_layer(cls=None, *, name=None):
    """Register a Layer subclass so that model files can store it and load_model rebuild it.

    Use as a decorator, ``@register_layer`` (key "<module>.<ClassName>") or
    ``@register_layer(name="mypkg.MyLayer")``, or call it, ``register_layer(MyLayer)``.
    Registering a class again (a module reload) is fine; a key that names another class is a
    ConfigError naming both. A class registered under a second name (an old one, kept for old
    files) still serializes as its first. Returns the class.
    """
    if cls is None:
        return lambda cls: register_layer(cls, name=name)
    from lamina.layers.base import Layer  # base registers lamina's layers through this module

    if not (inspect.isclass(cls) and issubclass(cls, Layer)):
        raise ConfigError(f"register_layer expects a subclass of lamina.Layer. "
                          f"Received: {cls!r}")
    return add(cls, default_key(cls) if name is None else name)


def registered_layers():
    """{key: class} of every registered layer (a copy)."""
    _import_lamina_layers()
    return dict(_classes)


def key_of(cls):
    """The key `cls` serializes as: its registered one, else its default_key."""
    return _keys.get(cls) or default_key(cls)


def serialize(layer):
    """{"class_name": ..., "config": ...}: a JSON-ready description of a layer, with
    "trainable": False for a frozen one (its own flag; a container's children carry theirs)."""
    spec = {"class_name": key_of(type(layer)), "config": layer.get_config()}
    if not layer.trainable:
        spec["trainable"] = False
    return spec


def deserialize(spec):
    """Rebuild a layer from serialize()'s output (weights are fresh; load them separately).

    spec["class_name"] is looked up in the registry; an unknown one is a ConfigError that says
    how to register the class (and which unregistered class of that name exists, if one does).
    """
    _import_lamina_layers()
    key = spec.get("class_name")
    cls = _classes.get(key)
    if cls is None:
        raise ConfigError(unknown_key_message(key))
    config = dict(spec["config"])
    layer = cls.from_config(config) if hasattr(cls, "from_config") else cls(**config)
    if "trainable" in spec:
        layer._set_trainable(spec["trainable"])  # not the children's: they carry their own
    return layer


def unknown_key_message(key):
    """Why `key` names no layer, and how to register the class it should name."""
    bare = key.rsplit(".", 1)[-1] if isinstance(key, str) else None
    found = [cls for cls in _layer_classes() if cls.__name__ == bare]
    unregistered = [cls for cls in found if cls not in _keys]
    if unregistered:
        cls = unregistered[0]
        fix = "" if default_key(cls) == key else f"(name={key!r})"
        hint = (f"{_where(cls)} is defined but not registered: decorate it with "
                f"@lamina.register_layer{fix}")
    elif found:
        cls = found[0]
        hint = (f"{_where(cls)} is registered as {_keys[cls]!r}: to load files that store "
                f"{key!r} too, also call lamina.register_layer({cls.__name__}, name={key!r})")
    else:
        hint = ("Import the module that defines it and register the class: "
                "@lamina.register_layer (key '<module>.<ClassName>') or "
                "@lamina.register_layer(name=...) for the key the file stores")
    user = sorted(k for k, cls in _classes.items() if not is_lamina_class(cls))
    known = f"registered user layers: {user}" if user else "no user layers are registered"
    if not found:  # perhaps a misspelt built-in
        known = f"lamina's layers: {sorted(k for k in _classes if k not in user)}; {known}"
    return f"Unknown layer class {key!r}. {hint}. Known: {known}"


def _layer_classes():
    """Every Layer subclass defined so far, depth first."""
    from lamina.layers.base import Layer

    stack, seen = [Layer], set()
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
                yield sub


def _import_lamina_layers():
    import lamina  # noqa: F401  (importing lamina defines, so registers, its layers)
