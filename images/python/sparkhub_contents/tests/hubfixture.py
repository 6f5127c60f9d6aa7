"""The contents service's fixture door, for Jupyter's own tests.

Jupyter's contents tests make their fixtures on the server's disk; run
against HubContentsManager they make them in the database instead,
through SPARKHUB_FIXTURE_URL: the same database as the user's contents
API, with hidden files allowed (the Go tests contents.TestJupyterSuite
and contents.TestJupyterServerSuite serve it).
"""

import base64
import json
import os
import urllib.error
import urllib.request

from sparkhub_contents._client import quote_path

FIXTURE_URL = os.environ.get("SPARKHUB_FIXTURE_URL", "")
TOKEN = os.environ.get("SPARKHUB_CONTENTS_TOKEN", "")


def fixture(method, path, body=None, params=""):
    """Call the contents service directly, hidden files allowed."""
    url = FIXTURE_URL.rstrip("/") + "/" + quote_path(path) + params
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Authorization": "token " + TOKEN})
    try:
        with urllib.request.urlopen(req) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        return e.code, None


def wipe():
    """Delete everything the user has."""
    status, root = fixture("GET", "")
    for child in (root or {}).get("content", []):
        fixture("DELETE", child["path"])


def exists(path, type_):
    return fixture("GET", path, params="?content=0&type=" + type_)[0] == 200


def mkdirs(path):
    parts = path.strip("/").split("/")
    for i in range(1, len(parts) + 1):
        fixture("PUT", "/".join(parts[:i]), {"type": "directory"})


def put_text(path, text):
    fixture("PUT", path, {"type": "file", "format": "text", "content": text})


def put_bytes(path, blob):
    fixture("PUT", path, {"type": "file", "format": "base64", "content": base64.b64encode(blob).decode("ascii")})


class ServicePath:
    """The part of pathlib.Path Jupyter's tests use on their contents
    folder, for a path in the service: str() is the API path."""

    def __init__(self, path=""):
        self.path = str(path).strip("/")

    def __str__(self):
        return self.path

    def __fspath__(self):
        return self.path

    def __repr__(self):
        return f"ServicePath({self.path!r})"

    def __eq__(self, other):
        return isinstance(other, ServicePath) and other.path == self.path

    def __hash__(self):
        return hash(self.path)

    def __truediv__(self, part):
        return self.joinpath(part)

    def joinpath(self, *parts):
        return ServicePath("/".join(p for p in [self.path, *map(str, parts)] if p))

    def relative_to(self, other):
        base = str(other).strip("/")
        if base and not self.path.startswith(base + "/"):
            raise ValueError(f"{self.path!r} is not under {base!r}")
        return ServicePath(self.path[len(base):])

    def mkdir(self, parents=False, exist_ok=False):
        if self.path:
            mkdirs(self.path)

    def write_text(self, text, encoding=None):
        put_text(self.path, text)

    def write_bytes(self, blob):
        put_bytes(self.path, blob)

    def is_file(self):
        return exists(self.path, "file") or exists(self.path, "notebook")

    def is_dir(self):
        return self.path == "" or exists(self.path, "directory")

    def exists(self):
        return self.is_dir() or self.is_file()
