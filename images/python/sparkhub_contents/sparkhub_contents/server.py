"""HubContentsManager for jupyter_server 2 (JupyterLab, Notebook 7)."""

from jupyter_server.services.contents.checkpoints import Checkpoints
from jupyter_server.services.contents.manager import ContentsManager

from ._manager import build

HubContentsManager, HubCheckpoints = build(ContentsManager, Checkpoints)

for _cls in (HubContentsManager, HubCheckpoints):
    _cls.__module__ = __name__
    _cls.__qualname__ = _cls.__name__
