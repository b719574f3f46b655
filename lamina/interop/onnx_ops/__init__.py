"""ONNX converters for lamina's layers, one file per layer family (see registry for the
protocol). Importing this package registers every converter (export_onnx does, inside the
call); onnx itself is imported only when a graph is written."""

from lamina.interop.onnx_ops import (activation, arithmetic, attention,  # noqa: F401
                                     containers, conv, dense, dropout, embedding, inference,
                                     merge, norm, pool, preprocessing, recurrent, reshape,
                                     spatial)
from lamina.interop.onnx_ops.graph import OnnxGraph
from lamina.interop.onnx_ops.registry import CONVERTERS, convert, converter_for, converts

__all__ = ["OnnxGraph", "CONVERTERS", "convert", "converter_for", "converts"]
