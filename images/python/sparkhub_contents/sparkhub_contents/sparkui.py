"""The Spark UI of the server's own driver, at ``{base_url}spark/``.

The hub sends ``/user/{name}/spark/...`` to the user's server like any
other page of it (so only whoever may use the server gets here), and this
handler relays it to the Spark UI of a driver running inside the server:
no port of the driver is exposed to the hub or trusted by it.

Which driver: Spark's UI listens on ``spark.ui.port`` (4040 unless the
server's configuration says otherwise) or, when that is taken, one of the
``spark.port.maxRetries`` ports after it; on Mesos, each of the server's
Spark applications has its own (``slot-N/spark-defaults.conf``, see
``sparkconf``). A port in those ranges counts
only when the socket listening on it belongs to this server's own
account (``/proc/net/tcp``), so on a machine shared with other users'
servers another account's driver, or a process squatting the port, is
never shown; of several of the server's own drivers, the one on the
lowest port. Links work behind the prefix because the relay sets
``X-Forwarded-Context`` (which Spark's UI puts before every link),
replacing any the client sent, and rewrites redirects; the kill links
(``.../kill/``) are refused, as they change the application on a GET.
"""

import os
import re
from urllib.parse import urlsplit

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

PATH = "spark"
DEFAULT_UI_PORT = 4040
DEFAULT_RETRIES = 16
# Answers larger than this are cut off: the UI's pages are far smaller.
MAX_BODY = 64 << 20

NO_APP = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Spark UI</title></head>"
    "<body><h1>No Spark application is running in your server</h1>"
    "<p>Start one in a notebook (<code>SparkSession.builder.getOrCreate()</code>), "
    "then reload this page.</p></body></html>"
)

# Request headers passed on to Spark; the rest (cookies, the server's
# token) stay here.
_PASS = ("Accept", "Accept-Language", "If-None-Match", "If-Modified-Since", "User-Agent")
_KILL = re.compile(r"(^|/)kill/?$")


def _conf_folders():
    """This server's Spark configuration folders: SPARK_CONF_DIR and
    its slot-N folders, in order."""
    folder = os.environ.get("SPARK_CONF_DIR")
    if not folder:
        return [None]
    out = [folder]
    i = 0
    while os.path.isdir(os.path.join(folder, f"slot-{i}")):
        out.append(os.path.join(folder, f"slot-{i}"))
        i += 1
    return out


def _conf_value(key, folder=None):
    """key's value in folder's spark-defaults.conf (SPARK_CONF_DIR's by
    default), or None."""
    folder = folder or os.environ.get("SPARK_CONF_DIR")
    if not folder:
        return None
    try:
        with open(os.path.join(folder, "spark-defaults.conf"), encoding="utf-8") as f:
            for line in f:
                k, _, v = line.strip().partition(" ")
                if k == key:
                    return v.strip()
    except OSError:
        return None
    return None


def candidate_ports():
    """The ports the drivers' UIs may be on, in the order Spark tries them."""
    out = []
    for folder in _conf_folders():
        try:
            first = int(_conf_value("spark.ui.port", folder) or DEFAULT_UI_PORT)
            retries = int(_conf_value("spark.port.maxRetries", folder) or DEFAULT_RETRIES)
        except ValueError:
            first, retries = DEFAULT_UI_PORT, DEFAULT_RETRIES
        out += [p for p in range(first, min(first + retries, 65535) + 1) if p not in out]
    return out


def own_listening_ports(uid=None, tables=("/proc/net/tcp", "/proc/net/tcp6")):
    """The TCP ports on which a socket of account uid (this process's by
    default) listens."""
    uid = os.getuid() if uid is None else uid
    ports = set()
    for table in tables:
        try:
            with open(table, encoding="ascii") as f:
                next(f, None)
                for line in f:
                    fields = line.split()
                    # local_address rem_address st ... uid
                    if len(fields) < 8 or fields[3] != "0A":  # LISTEN
                        continue
                    if int(fields[7]) == uid:
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except OSError:
            continue
    return ports


def driver_ports():
    """The ports of this server's own Spark UIs, lowest first."""
    own = own_listening_ports()
    return [p for p in candidate_ports() if p in own]


def _location(location, prefix):
    """A redirect from the UI as a path under prefix: only its path and
    query are kept, so it can lead nowhere but the relay."""
    parts = urlsplit(location)
    path = parts.path or "/"
    if path.startswith(prefix + "/"):
        path = path[len(prefix):]
    if not path.startswith("/"):
        path = "/" + path
    return prefix + path + ("?" + parts.query if parts.query else "")


_CLIENT = []


def _client():
    """The relay's HTTP client, made once: its own, as the answer size
    it takes is its own."""
    if not _CLIENT:
        _CLIENT.append(AsyncHTTPClient(force_instance=True, max_body_size=MAX_BODY))
    return _CLIENT[0]


def make_handler(base):
    """The relay as a handler class of the running Jupyter: base is its
    authenticated handler (JupyterHandler, or notebook 6's IPythonHandler),
    so only requests with the server's credentials get through."""
    from tornado import web

    class SparkUIHandler(base):
        @web.authenticated
        async def get(self, path):
            await self._relay(path, body=True)

        @web.authenticated
        async def head(self, path):
            await self._relay(path, body=False)

        async def _relay(self, path, body):
            prefix = self.base_url.rstrip("/") + "/" + PATH
            self.set_header("Cache-Control", "no-store")
            if _KILL.search(path):
                self.set_status(403)
                self.finish("Killing jobs and stages from the Spark UI is off here; "
                            "cancel them from the notebook (sc.cancelAllJobs()).")
                return
            ports = driver_ports()
            if not ports and path == "api/v1/applications":
                # The list of applications is empty, as Spark's own
                # history server says it (and the hub asks it often).
                self.set_header("Content-Type", "application/json")
                self.finish("[]")
                return
            if not ports:
                self.set_status(404)
                if path.startswith("api/"):
                    self.finish({"message": "No Spark application is running in this server."})
                else:
                    self.set_header("Content-Type", "text/html; charset=utf-8")
                    self.finish(NO_APP)
                return
            port = ports[0]
            query = self.request.query
            url = f"http://127.0.0.1:{port}/{path}" + ("?" + query if query else "")
            headers = {k: self.request.headers[k] for k in _PASS if k in self.request.headers}
            headers["X-Forwarded-Context"] = prefix
            req = HTTPRequest(url, method="GET", headers=headers, follow_redirects=False,
                              request_timeout=60, decompress_response=True)
            try:
                resp = await _client().fetch(req, raise_error=False)
            except (HTTPClientError, OSError) as e:
                self.set_status(502)
                self.finish({"message": f"The Spark UI on port {port} did not answer: {e}"})
                return
            if resp.code == 599:
                self.set_status(502)
                self.finish({"message": f"The Spark UI on port {port} did not answer."})
                return
            self.set_status(resp.code)
            for name in ("Content-Type", "ETag", "Last-Modified"):
                if name in resp.headers:
                    self.set_header(name, resp.headers[name])
            if 300 <= resp.code < 400 and "Location" in resp.headers:
                self.set_header("Location", _location(resp.headers["Location"], prefix))
            if body and resp.body:
                self.write(resp.body)
            self.finish()

    return SparkUIHandler


def add_spark_ui_handlers(web_app, base):
    """Serve the relay at {base_url}spark/ (and send {base_url}spark
    there) in web_app, with base the Jupyter's authenticated handler."""
    from tornado.web import RedirectHandler

    base_url = web_app.settings.get("base_url", "/")
    web_app.add_handlers(".*$", [
        (base_url + PATH, RedirectHandler, {"url": base_url + PATH + "/jobs/"}),
        (base_url + PATH + "/(.*)", make_handler(base)),
    ])
