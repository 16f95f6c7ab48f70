"""Export a network as a plain PyTorch module: generated source that needs only torch, safetensors weights.

- `export_model(spec, out, input_shape=..., num_outputs=..., model=...)`: a built or trained network.
- `export_trial(storage, study, trial="best", out=...)`: a trial of a stored search (``optnas export``).
- `load(folder)`: the exported module back (its model.py and weights.safetensors; never unpickles).

Example:
    >>> import tempfile, torch, optnas, optnas.export
    >>> spec = optnas.ArchSpec(algorithm="heavy_ball", depth=2, width=8)
    >>> folder = tempfile.mkdtemp()
    >>> done = optnas.export.export_model(spec, folder, input_shape=(2,), num_outputs=3)
    >>> optnas.export.load(folder)(torch.randn(5, 2)).shape
    torch.Size([5, 3])
"""

from __future__ import annotations

from ._codegen import NotExportable
from .loader import load
from .trial import export_trial
from .writer import Exported, export_model

__all__ = ["Exported", "NotExportable", "export_model", "export_trial", "load"]
