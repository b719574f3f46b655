"""lamina's exceptions: each subclasses the builtin a caller would catch anyway.

    LaminaError
    ├── ShapeError        (ValueError)         rank, size or channel count a layer cannot take
    ├── ConfigError       (ValueError)         a hyper-parameter or argument out of its range
    ├── LabelError        (ValueError)         labels out of range, or not matching the outputs
    ├── DTypeError        (TypeError)          a dtype an operation cannot take
    ├── NotBuiltError     (RuntimeError)       a lazy layer used before its input size is known
    ├── NonFiniteError    (FloatingPointError) NaN or Inf in a loss, activation or gradient
    ├── FileFormatError   (ValueError)         a file that is truncated, corrupted or foreign
    │   ├── ModelFileError                     ... a safetensors / lamina model file
    │   └── CheckpointError                    ... a training checkpoint
    ├── DatasetError      (OSError)            a dataset file missing, unreachable or invalid
    ├── DistributedError  (RuntimeError)       a distributed run that cannot go on
    ├── GraphError        (ValueError)         a graph that cannot be a model, or data that
    │                                          does not fit the model's inputs
    └── InteropError      (ValueError)         another framework's model file (ONNX) that
                                               lamina cannot read or build

Catch ``lamina.errors.LaminaError`` for everything lamina raises on purpose.
"""


class LaminaError(Exception):
    """Base class of every error lamina raises on purpose."""


class ShapeError(LaminaError, ValueError):
    """An array arrived with a rank or size the layer or kernel cannot take."""


class ConfigError(LaminaError, ValueError):
    """A hyper-parameter or constructor argument is out of its valid range."""


class LabelError(LaminaError, ValueError):
    """Labels are out of range for the outputs, of the wrong kind, or do not match them."""


class DTypeError(LaminaError, TypeError):
    """An array arrived with a dtype the operation cannot take."""


class NotBuiltError(LaminaError, RuntimeError):
    """A layer was used before its input size was known (lazy layers)."""


class NonFiniteError(LaminaError, FloatingPointError):
    """A loss, an activation or a gradient became NaN or infinite."""


class FileFormatError(LaminaError, ValueError):
    """A file is truncated, corrupted, of an unknown version, or not the format expected."""


class ModelFileError(FileFormatError):
    """A file is not a valid safetensors or lamina model file (truncated, corrupted, foreign)."""


class CheckpointError(FileFormatError):
    """A training checkpoint is invalid, or does not belong to the model and data resuming it."""


class DatasetError(LaminaError, OSError):
    """A dataset file is missing, unreachable, fails its checksum, or is not the format expected."""


class DistributedError(LaminaError, RuntimeError):
    """A distributed training run cannot start or go on (engine, cluster or partition trouble)."""


class GraphError(LaminaError, ValueError):
    """A graph that cannot be a model: an output not reachable from the inputs, an unused
    input, a foreign tensor, a cycle, or data that does not match the model's inputs."""


class InteropError(LaminaError, ValueError):
    """A model file of another framework (ONNX) that is corrupt, of an unknown version, or holds
    operations lamina cannot build."""
