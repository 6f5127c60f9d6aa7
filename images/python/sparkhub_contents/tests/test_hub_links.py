"""The ways back to the hub, on real servers started as the hub starts them.

The Go test images.TestHubLinks sets:

  SPARKHUB_JUPYTER_ARGS  the arguments local.Backend.Args gives a server
                         (JSON); a free TCP port is added here
  SPARKHUB_CONTENTS_URL, SPARKHUB_CONTENTS_TOKEN
                         a contents service for the server's contents manager

Each server runs as its own process with those arguments: notebook 6, and
jupyter_server when it is installed. Its {base_url}logout must send the
browser to the hub's logout and forget the server's login cookie, and
every notebook 6 page must link to the hub's home beside Jupyter's own
logo and Logout button, and every server must answer the hub's challenge
with the proof that it holds its token, asking no token for it.
"""

import importlib.util
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser

import pytest
import requests

from sparkhub_contents._proof import proof

ARGS = os.environ.get("SPARKHUB_JUPYTER_ARGS", "")
if not ARGS:
    pytest.skip("SPARKHUB_JUPYTER_ARGS is not set: run these from the Go test images.TestHubLinks", allow_module_level=True)

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVERS = {"notebook": "notebook.notebookapp", "jupyter_server": "jupyter_server.serverapp"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def option(args, name):
    """The value of --name=value in args."""
    values = [a.split("=", 1)[1] for a in args if a.startswith("--" + name + "=")]
    assert values, f"--{name} is not among {args}"
    return values[-1]


class Server:
    """A Jupyter server process started with the hub's arguments."""

    def __init__(self, module):
        self.token = secrets.token_hex(16)
        self.port = free_port()
        args = json.loads(ARGS) + ["--ip=127.0.0.1", f"--port={self.port}"]
        self.base = f"http://127.0.0.1:{self.port}" + option(args, "ServerApp.base_url")
        self.dir = tempfile.TemporaryDirectory()
        env = dict(os.environ)
        env["JUPYTER_TOKEN"] = self.token
        env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_DIR, env.get("PYTHONPATH", "")) if p)
        self.log = open(os.path.join(self.dir.name, "server.log"), "w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module] + args,
            cwd=self.dir.name, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"{module} exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if self.get("api/status").status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            if time.time() > deadline:
                self.stop()
                raise AssertionError(f"{module} did not answer within 60 s:\n{self.output()}")
            time.sleep(0.2)

    def get(self, path, session=requests, **kwargs):
        headers = {"Authorization": "token " + self.token}
        return session.get(self.base + path, headers=headers, timeout=30, **kwargs)

    def output(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        self.dir.cleanup()


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(request):
    module = request.param
    if importlib.util.find_spec(module) is None:
        if module == "notebook":
            pytest.fail("notebook 6 is not installed (Debian: python3-notebook)")
        pytest.skip(f"{module} is not installed")
    if module == "notebook" and importlib.util.find_spec(SERVERS[module]) is None:
        pytest.skip("notebook is not notebook 6")
    s = Server(module)
    s.module = module
    yield s
    s.stop()


@pytest.fixture(scope="module")
def notebook6(server):
    if server.module != "notebook":
        pytest.skip("only notebook 6 has pages of its own")
    return server


def test_logout_goes_to_the_hub(server):
    session = requests.Session()
    # A request with the server's token may leave Jupyter's login cookie
    # behind (notebook 6 and jupyter_server 1 set it), as it does in a
    # browser behind the hub's proxy.
    assert server.get("api/contents", session).status_code == 200

    resp = session.get(server.base + "logout", allow_redirects=False, timeout=30)
    assert resp.status_code == 302, resp.text
    assert resp.headers["Location"] == "/hub/logout"
    # Jupyter's login cookie is cleared, whether or not it was set.
    cleared = [h for h in resp.raw.headers.getlist("Set-Cookie") if h.startswith("username-")]
    assert cleared, f"the logout left Jupyter's login cookie alone: {resp.headers}"
    left = [c.name for c in session.cookies if c.name.startswith("username-")]
    assert left == [], f"the server's login cookie outlived the logout: {left}"


class Page(HTMLParser):
    """The links and element ids of a page."""

    def __init__(self, html):
        super().__init__()
        self.links, self.ids = {}, set()
        self._href = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self._href = attrs["href"]
            self.links.setdefault(self._href, "")

    def handle_data(self, data):
        if self._href is not None:
            self.links[self._href] += data.strip()

    def handle_endtag(self, tag):
        if tag == "a":
            self._href = None


def put(server, path, model):
    resp = requests.put(
        server.base + "api/contents/" + path, json=model,
        headers={"Authorization": "token " + server.token}, timeout=30,
    )
    assert resp.status_code in (200, 201), resp.text


@pytest.mark.parametrize("page", ["tree", "notebooks/hub links.ipynb", "edit/hub links.txt", "terminals/1"])
def test_pages_link_to_the_hub(notebook6, page):
    if page.startswith("notebooks/"):
        nb = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        put(notebook6, "hub links.ipynb", {"type": "notebook", "format": "json", "content": nb})
    if page.startswith("edit/"):
        put(notebook6, "hub links.txt", {"type": "file", "format": "text", "content": "hi"})
    resp = notebook6.get(page)
    assert resp.status_code == 200, resp.text
    html = Page(resp.text)
    assert html.links.get("/hub/home") == "Control Panel", f"no Control Panel link to /hub/home in {page}: {html.links}"
    # Jupyter's own header is still there: the logo and Logout.
    assert {"ipython_notebook", "logout"} <= html.ids, f"{page} lost Jupyter's header: {sorted(html.ids)}"


def test_proof_vector():
    # spawner.TestProofVector pins the same bytes on the hub's side.
    got = proof("tok-alice", "/user/alice/", "00112233445566778899aabbccddeeff")
    assert got == "5fd8fb12aa99b7ccc62a77483dd6d30ae5264367032c4388806ffcc8783c574b"


def test_proof_answers_the_hubs_challenge(server):
    base_url = option(json.loads(ARGS), "ServerApp.base_url")
    challenge = secrets.token_hex(32)
    # As the hub asks: no token, no cookie.
    resp = requests.get(server.base + "sparkhub/proof", params={"challenge": challenge}, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"proof": proof(server.token, base_url, challenge)}
    assert resp.json()["proof"] != proof("another token", base_url, challenge)
    for bad in ("", "xyz", "AB" * 16):
        resp = requests.get(server.base + "sparkhub/proof", params={"challenge": bad}, timeout=30)
        assert resp.status_code == 400, f"challenge {bad!r}: {resp.status_code} {resp.text}"
