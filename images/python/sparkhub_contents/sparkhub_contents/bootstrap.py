"""Fetch a server's tokens from the hub, then run Jupyter.

A server the hub starts on Mesos has no secret in its task, whose
definition the cluster shows to whoever may read its state: only
SPARKHUB_BOOTSTRAP_URL and SPARKHUB_BOOTSTRAP_CREDENTIAL, a credential
the hub takes once, until the start's deadline. The image's entrypoint
runs::

    python3 -m sparkhub_contents.bootstrap COMMAND [ARGUMENT...]

which POSTs {"credential": ...} to the URL, sets the environment the hub
answers with (JUPYTER_TOKEN, SPARKHUB_CONTENTS_URL,
SPARKHUB_CONTENTS_TOKEN), drops the credential from the environment and
runs COMMAND in its place. When the hub refuses, it says why on stderr
("sparkhub-bootstrap: ...") and exits with status 1, running nothing.
"""

import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

URL_ENV = "SPARKHUB_BOOTSTRAP_URL"
CREDENTIAL_ENV = "SPARKHUB_BOOTSTRAP_CREDENTIAL"

# What the hub may set: Jupyter's token and the hub's own variables,
# nothing that changes how programs load (PATH, LD_PRELOAD, PYTHON*).
NAME = re.compile(r"^(JUPYTER_TOKEN|SPARKHUB_[A-Z0-9_]+)$")

# How long to keep trying a hub that refuses connections (restarting):
# no request reached it, so trying again uses nothing up.
CONNECT_FOR = 60.0


class Refused(Exception):
    """The hub did not hand the server its environment."""


def exchange(url, credential, timeout=30.0, connect_for=CONNECT_FOR):
    """Trade the credential at url for the server's environment."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise Refused(f"{URL_ENV} must be the hub's http or https URL, not {url!r}")
    body = json.dumps({"credential": credential}).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    deadline = time.monotonic() + connect_for
    while True:
        req = urllib.request.Request(url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                answer = json.loads(resp.read(64 << 10))
            break
        except urllib.error.HTTPError as e:
            raise Refused(f"the hub refused ({e.code}): {message(e)}") from None
        except urllib.error.URLError as e:
            if isinstance(e.reason, ConnectionRefusedError) and time.monotonic() < deadline:
                time.sleep(0.5)
                continue
            raise Refused(f"the hub cannot be reached at {url}: {e.reason}") from None
        except (OSError, ValueError) as e:
            # Sent, perhaps taken: trying again would be refused as a
            # second use.
            raise Refused(f"no answer from the hub: {e}") from None
    env = answer.get("env") if isinstance(answer, dict) else None
    if not isinstance(env, dict) or not env.get("JUPYTER_TOKEN"):
        raise Refused("the hub's answer holds no JUPYTER_TOKEN")
    for name, value in env.items():
        if not isinstance(name, str) or not NAME.match(name) or not isinstance(value, str):
            raise Refused(f"the hub's answer sets {name!r}, which a server does not take from it")
    return env


def message(err):
    """The sentence of a hub's error answer."""
    try:
        return json.loads(err.read(4096)).get("message") or err.reason
    except (ValueError, AttributeError, OSError):
        return err.reason


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        die("no command to run")
    url = os.environ.pop(URL_ENV, "")
    credential = os.environ.pop(CREDENTIAL_ENV, "")
    if credential:
        try:
            os.environ.update(exchange(url, credential))
        except Refused as e:
            die(str(e))
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        die(f"cannot run {argv[0]}: {e.strerror}")


def die(msg):
    print("sparkhub-bootstrap: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


if __name__ == "__main__":
    main()
