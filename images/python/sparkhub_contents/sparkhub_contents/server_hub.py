"""The way back to the hub from jupyter_server (JupyterLab, Notebook 7).

``HubLogoutHandler`` answers ``{base_url}logout``: it forgets the server's
own login cookie and sends the browser to the hub's logout::

    c.ServerApp.logout_handler_class = "sparkhub_contents.HubLogoutHandler"         # jupyter_server 1
    c.IdentityProvider.logout_handler_class = "sparkhub_contents.HubLogoutHandler"  # jupyter_server 2
"""

from jupyter_server.auth.logout import LogoutHandler

from ._hub import HUB_LOGOUT

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
        self.redirect(HUB_LOGOUT)
