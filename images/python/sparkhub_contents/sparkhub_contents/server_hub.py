"""The way back to the hub from jupyter_server (JupyterLab, Notebook 7).

``HubLogoutHandler`` answers ``{base_url}logout``: it forgets the server's
own login cookie and sends the browser to the hub's logout. Loaded as a
server extension, this module puts the hub's keys in JupyterLab's and
Notebook 7's page config, so their File menu has Hub Control Panel and
Log Out (see ``_hub.page_config``), with no token of the server's in it,
and answers the hub's challenge at ``{base_url}sparkhub/proof`` (see
``_proof``)::

    c.ServerApp.logout_handler_class = "sparkhub_contents.HubLogoutHandler"         # jupyter_server 1
    c.IdentityProvider.logout_handler_class = "sparkhub_contents.HubLogoutHandler"  # jupyter_server 2
    c.ServerApp.jpserver_extensions = {"sparkhub_contents.server_hub": True}
"""

from jupyter_server.auth.logout import LogoutHandler

from ._hub import logout_url, page_config
from ._proof import add_proof_handler

try:
    from jupyter_server.auth.decorator import allow_unauthenticated
except ImportError:  # before 2.13 no handler needs it

    def allow_unauthenticated(method):
        return method


class HubLogoutHandler(LogoutHandler):
    """GET {base_url}logout: log out of the hub, not only of this server."""

    @allow_unauthenticated
    def get(self):
        identity = getattr(self, "identity_provider", None)
        if identity is not None:  # jupyter_server 2
            identity.clear_login_cookie(self)
        else:
            self.clear_login_cookie()
        self.redirect(logout_url())


def _jupyter_server_extension_points():
    return [{"module": "sparkhub_contents.server_hub"}]


def _load_jupyter_server_extension(serverapp):
    """Fill in the hub's page config keys and answer the hub's challenge
    at {base_url}sparkhub/proof."""
    serverapp.web_app.settings["page_config_hook"] = page_config
    add_proof_handler(serverapp, serverapp.web_app)
