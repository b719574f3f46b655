"""Hand a model on, or start from one trained elsewhere (tier 4).

ONNX export and import (the `onnx` extra) and PyTorch state_dict conversion; see
shared/DESIGN.md, "Interop and deployment".
"""

from lamina.interop.onnx_export import export_onnx  # noqa: F401
from lamina.interop.onnx_import import load_onnx  # noqa: F401
