"""The proof a server gives the hub that it holds its token.

A server the hub started with a bootstrap credential (on Mesos) fetched
its token from the hub; the hub routes users to it only once whatever
listens at its address proves it holds that token, and never sends the
token to find out: another process on the machine may have taken the
port first. The hub asks ``GET {base_url}sparkhub/proof?challenge=HEX``,
with no credential, and checks the answer ``{"proof": HEX}``: the
HMAC-SHA256, keyed with the token, of "sparkhub-proof", the base URL and
the challenge, a line each (the hub's spawner.Proof).
"""

import hashlib
import hmac
import json
import re

from tornado.web import RequestHandler

PATH = "sparkhub/proof"
CHALLENGE = re.compile(r"^[0-9a-f]{16,128}$")


def proof(token, base_url, challenge):
    message = "sparkhub-proof\n" + base_url + "\n" + challenge
    return hmac.new(token.encode(), message.encode(), hashlib.sha256).hexdigest()


def server_token(app):
    """The token the running Jupyter checks: jupyter_server 2 keeps it
    in its identity provider, notebook 6 and jupyter_server 1 on the
    app."""
    identity = getattr(app, "identity_provider", None)
    return getattr(identity, "token", None) or getattr(app, "token", None) or ""


class ProofHandler(RequestHandler):
    """GET {base_url}sparkhub/proof: answers the hub's challenge. It
    needs no login (the hub sends nothing secret) and tells nothing of
    the token."""

    def initialize(self, app, base_url):
        self.app = app
        self.base_url = base_url

    def get(self):
        self.set_header("Cache-Control", "no-store")
        challenge = self.get_query_argument("challenge", "")
        if not CHALLENGE.match(challenge):
            self.set_status(400)
            self.finish({"message": "challenge must be 16 to 128 lowercase hex digits"})
            return
        token = server_token(self.app)
        if not token:
            # A server without a token proves nothing, and is not the
            # hub's.
            self.set_status(404)
            self.finish({"message": "this server has no token"})
            return
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"proof": proof(token, self.base_url, challenge)}))


def add_proof_handler(app, web_app):
    """Serve ProofHandler under the server's base URL."""
    base_url = web_app.settings.get("base_url", "/")
    web_app.add_handlers(".*$", [(base_url + PATH, ProofHandler, {"app": app, "base_url": base_url})])
