"""lamina's exceptions: each subclasses the builtin a caller would catch anyway."""


class LaminaError(Exception):
    """Base class of every error lamina raises on purpose."""


class ShapeError(LaminaError, ValueError):
    """An array arrived with a rank or size the layer or kernel cannot take."""


class ConfigError(LaminaError, ValueError):
    """A hyper-parameter or constructor argument is out of its valid range."""


class DTypeError(LaminaError, TypeError):
    """An array arrived with a dtype the operation cannot take."""


class NotBuiltError(LaminaError, RuntimeError):
    """A layer was used before its input size was known (lazy layers)."""
