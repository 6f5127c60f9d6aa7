"""The way back to the hub from notebook 6's pages.

``HubLogoutHandler`` answers ``{base_url}logout``: it forgets the server's
own login cookie and sends the browser to the hub's logout, so Jupyter's
Logout button logs out of the hub. Loaded as a server extension, this
module puts a "Control Panel" link to the hub's home in every page's
header, beside Logout, and answers the hub's challenge at
``{base_url}sparkhub/proof`` (see ``_proof``)::

    c.NotebookApp.logout_handler_class = "sparkhub_contents.HubLogoutHandler"
    c.NotebookApp.nbserver_extensions = {"sparkhub_contents.notebook6_hub": True}
"""

from jinja2 import ChoiceLoader, DictLoader, PrefixLoader
from notebook.auth.logout import LogoutHandler

from ._hub import HUB_HOME, logout_url
from ._proof import add_proof_handler

# The templates the server had stay reachable under this prefix, so the
# page below can extend the page.html it replaces.
JUPYTER_PREFIX = "sparkhub-jupyter"

PAGE = (
    '{% extends "' + JUPYTER_PREFIX + '/page.html" %}\n'
    "{% block header_buttons %}\n"
    '<span id="sparkhub_control_panel">\n'
    '  <a href="' + HUB_HOME + '" class="btn btn-default btn-sm navbar-btn pull-right"'
    ' style="margin-left: 4px" title="Your server and tokens on the hub">Control Panel</a>\n'
    "</span>\n"
    "{{ super() }}\n"
    "{% endblock header_buttons %}\n"
)


class HubLogoutHandler(LogoutHandler):
    """GET {base_url}logout: log out of the hub, not only of this server."""

    def get(self):
        self.clear_login_cookie()
        self.redirect(logout_url())


def load_jupyter_server_extension(nbapp):
    """Serve PAGE as page.html, which every page of notebook 6 extends,
    and the proof the hub asks for."""
    add_proof_handler(nbapp, nbapp.web_app)
    env = nbapp.web_app.settings["jinja2_env"]
    jupyter = env.loader
    env.loader = ChoiceLoader([
        DictLoader({"page.html": PAGE}),
        PrefixLoader({JUPYTER_PREFIX: jupyter}),
        jupyter,
    ])
