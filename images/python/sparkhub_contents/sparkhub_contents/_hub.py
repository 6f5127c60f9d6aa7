"""Where the hub's own pages are, as a server behind its proxy sees them.

The hub and its users' servers share one origin, and the hub's pages
are always under /hub/, whatever the server's base URL.
"""

HUB_HOME = "/hub/home"
HUB_LOGOUT = "/hub/logout"
