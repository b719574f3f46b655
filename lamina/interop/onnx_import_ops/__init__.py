"""ONNX op converters for lamina.interop.load_onnx, one module per op family.

registry.CONVERTERS maps each supported op_type to its converter; graph_state holds the
nodes and the values a converter reads (symbolic tensors and constants); folding evaluates
what depends only on constants and shapes; patterns fuses the op sequences exporters emit
for one lamina layer (MatMul + Add, GELU's Erf formula, SiLU, Softplus's threshold,
GroupNorm, nearest upsampling by Gathers).
"""

from lamina.interop.onnx_import_ops import (activation, conv, embedding,  # noqa: F401
                                            linear, merge, norm, pool, shape, spatial)
from lamina.interop.onnx_import_ops.registry import CONVERTERS

__all__ = ["CONVERTERS"]
