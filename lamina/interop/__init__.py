"""Hand a model on, or start from one trained elsewhere (tier 4).

ONNX export and import (the `onnx` extra) and PyTorch state_dict conversion; see
shared/DESIGN.md, "Interop and deployment".
"""

from lamina.interop.onnx_export import export_onnx
from lamina.interop.onnx_import import load_onnx
from lamina.interop.torch_state_dict import (IncompatibleKeys, load_torch_state_dict,
                                             to_torch_state_dict)

__all__ = ["export_onnx", "load_onnx", "load_torch_state_dict", "to_torch_state_dict",
           "IncompatibleKeys"]
