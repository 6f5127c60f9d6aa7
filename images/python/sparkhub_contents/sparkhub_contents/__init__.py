"""Keep a Jupyter server's notebooks in sparkhub's contents service.

Configure the server with::

    c.NotebookApp.contents_manager_class = "sparkhub_contents.HubContentsManager"   # notebook 6
    c.ServerApp.contents_manager_class = "sparkhub_contents.HubContentsManager"     # jupyter_server 2

The manager reads ``SPARKHUB_CONTENTS_URL`` (the user's contents API, e.g.
``http://hub:8000/user/alice/api/contents``) and ``SPARKHUB_CONTENTS_TOKEN``
(a token with the ``contents`` scope) from the environment, and forwards
every operation there, so the server's own pages (``/notebooks/...``,
nbconvert, downloads) see the files in the hub's database.

``HubLogoutHandler`` makes Jupyter's Logout log out of the hub too::

    c.NotebookApp.logout_handler_class = "sparkhub_contents.HubLogoutHandler"       # notebook 6
    c.ServerApp.logout_handler_class = "sparkhub_contents.HubLogoutHandler"         # jupyter_server 1
    c.IdentityProvider.logout_handler_class = "sparkhub_contents.HubLogoutHandler"  # jupyter_server 2

and the server extension ``sparkhub_contents.notebook6_hub`` links notebook
6's pages to the hub's home.

``HubContentsManager``, ``HubCheckpoints`` and ``HubLogoutHandler`` resolve
to the classes for the Jupyter that is running: notebook 6 when its
``notebookapp`` is loaded, else jupyter_server when it is installed. So
one name serves every spelling of an option, whichever Jupyter reads it.
``sparkhub_contents.notebook6``, ``.server``, ``.notebook6_hub`` and
``.server_hub`` name them explicitly.
"""

import importlib
import sys

# name -> the module holding it, after the flavour's name
_MODULES = {"HubContentsManager": "", "HubCheckpoints": "", "HubLogoutHandler": "_hub"}

__all__ = list(_MODULES)


def _flavour():
    if "notebook.notebookapp" in sys.modules:
        return "notebook6"
    if "jupyter_server.serverapp" in sys.modules:
        return "server"
    try:
        importlib.import_module("jupyter_server.services.contents.manager")
        return "server"
    except ImportError:
        return "notebook6"


def __getattr__(name):
    if name in _MODULES:
        module = importlib.import_module("." + _flavour() + _MODULES[name], __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
