"""HubContentsManager for the classic notebook server (notebook 6)."""

from notebook.services.contents.checkpoints import Checkpoints
from notebook.services.contents.manager import ContentsManager

from ._manager import build

HubContentsManager, HubCheckpoints = build(ContentsManager, Checkpoints)

for _cls in (HubContentsManager, HubCheckpoints):
    _cls.__module__ = __name__
    _cls.__qualname__ = _cls.__name__
