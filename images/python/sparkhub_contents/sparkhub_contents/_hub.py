"""Where the hub's own pages are, as a server behind its proxy sees them,
and what JupyterLab's and Notebook 7's hub menu need to find them.

The hub and its users' servers share one origin, and the hub's pages
are always under /hub/, whatever the server's base URL. The spawner
says the rest in the server's environment, under JupyterHub's names:

  JUPYTERHUB_USER         the server's owner (SPARKHUB_USER before it)
  JUPYTERHUB_SERVER_NAME  the server's name ("": the user's one server)
  JUPYTERHUB_BASE_URL     where the hub is served ("/": the hub at /hub/)
  JUPYTERHUB_HOST         the hub's origin when the server's page is on
                          another one; "" (the default) keeps the hub's
                          paths relative, which the hub answers on every
                          origin it serves

The visiting user is not the owner when an admin opens the server
(--admin-access): the hub's proxy names whoever it let in, and only
them, in VISITOR_HEADER on every request it forwards (it removes the
header from what the browser sent).
"""

import os

HUB_HOME = "/hub/home"

VISITOR_HEADER = "X-Sparkhub-User"


def hub_prefix(environ=os.environ):
    """The hub's path prefix, "/hub/" unless the hub says otherwise."""
    base = environ.get("JUPYTERHUB_BASE_URL", "") or "/"
    if not base.startswith("/"):
        base = "/" + base
    return base.rstrip("/") + "/hub/"


def hub_host(environ=os.environ):
    return environ.get("JUPYTERHUB_HOST", "")


def logout_url(environ=os.environ):
    """Where the server's logout sends the browser: the hub's own Log
    out page, built from the hub's environment alone and never from the
    request, so no link can point it elsewhere."""
    return hub_host(environ) + hub_prefix(environ) + "logout"


def page_config(handler, config, environ=os.environ):
    """JupyterLab's and Notebook 7's page_config_hook: the keys
    @jupyterlab/hub-extension reads (File > Hub Control Panel, Log Out,
    the dialog that restarts a stopped server, Copy Shareable Link), and
    no token: the hub's proxy authenticates every request the page
    makes, so the server's own token must never reach a browser."""
    config = dict(config)
    prefix = hub_prefix(environ)
    owner = environ.get("JUPYTERHUB_USER", "") or environ.get("SPARKHUB_USER", "")
    visitor = ""
    if handler.current_user:
        visitor = handler.request.headers.get(VISITOR_HEADER, "")
    config.update(
        hubPrefix=prefix,
        hubHost=hub_host(environ),
        hubUser=visitor,
        hubServerUser=owner,
        hubServerName=environ.get("JUPYTERHUB_SERVER_NAME", ""),
        shareUrl=prefix + "user-redirect",
        token="",
    )
    return config
