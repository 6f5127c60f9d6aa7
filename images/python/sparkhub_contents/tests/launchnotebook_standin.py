"""Stand-in for notebook/tests/launchnotebook.py, which Debian does not ship.

notebook's contents tests import NotebookTestBase and assert_http_error
from there. This module provides both and registers itself under that
name: a notebook 6 server started once per test class in a thread, with
the class's ``config``, reached with requests and a fixed token.
"""

import os
import sys
import tempfile
import threading
import time
import types
import unittest
from contextlib import contextmanager

import requests
from tornado.ioloop import IOLoop


@contextmanager
def assert_http_error(status, msg=None):
    """Expect the block to raise requests.HTTPError with this status."""
    try:
        yield
    except requests.HTTPError as e:
        got = e.response.status_code
        assert got == status, f"expected HTTP {status}, got {got}: {e.response.text}"
        if msg is not None:
            assert msg in e.response.text, f"{msg!r} not in {e.response.text!r}"
    else:
        raise AssertionError(f"expected HTTP {status}, and the request succeeded")


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NotebookTestBase(unittest.TestCase):
    """A notebook server for the test class, torn down after it."""

    config = None
    url_prefix = "/"
    token = "standin-token"

    @classmethod
    def setUpClass(cls):
        from notebook.notebookapp import NotebookApp
        from traitlets.config import Config

        cls.tmp = tempfile.TemporaryDirectory()
        home = cls.tmp.name
        dirs = {}
        for name in ("notebooks", "config", "data", "runtime"):
            dirs[name] = os.path.join(home, name)
            os.makedirs(dirs[name])
        cls.notebook_dir = dirs["notebooks"]
        cls.port = _free_port()
        config = Config(cls.config) if cls.config else Config()
        ready = threading.Event()
        failure = []

        def serve():
            import asyncio

            asyncio.set_event_loop(asyncio.new_event_loop())
            try:
                app = NotebookApp(
                    ip="127.0.0.1", port=cls.port, port_retries=0, open_browser=False,
                    config_dir=dirs["config"], data_dir=dirs["data"], runtime_dir=dirs["runtime"],
                    notebook_dir=dirs["notebooks"], base_url=cls.url_prefix, token=cls.token,
                    allow_root=True, config=config,
                )
                app.init_signal = lambda: None
                app.initialize(argv=[])
                cls.notebook = app
                IOLoop.current().add_callback(ready.set)
                app.start()
            except BaseException as e:  # reported to the test thread
                failure.append(e)
            finally:
                ready.set()

        cls.thread = threading.Thread(target=serve, daemon=True)
        cls.thread.start()
        ready.wait(60)
        if failure:
            raise failure[0]
        deadline = time.time() + 30
        while True:
            try:
                requests.get(cls.base_url() + "api/contents", headers=cls.auth_headers(), timeout=5)
                break
            except requests.ConnectionError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)

    @classmethod
    def tearDownClass(cls):
        app = getattr(cls, "notebook", None)
        if app is not None:
            app.io_loop.add_callback(app.io_loop.stop)
            cls.thread.join(30)
            try:
                app.session_manager.close()
            except Exception:
                pass
        cls.tmp.cleanup()

    @classmethod
    def base_url(cls):
        return f"http://127.0.0.1:{cls.port}{cls.url_prefix}"

    @classmethod
    def auth_headers(cls):
        return {"Authorization": f"token {cls.token}"}

    def request(self, verb, path, **kwargs):
        headers = dict(self.auth_headers())
        headers.update(kwargs.pop("headers", {}) or {})
        return requests.request(verb, self.base_url() + path, headers=headers, timeout=60, **kwargs)

    def fetch_url(self, url):
        return requests.get(url, headers=self.auth_headers(), timeout=60)


def install():
    """Make `from notebook.tests.launchnotebook import ...` find this module."""
    import notebook

    if "notebook.tests" not in sys.modules:
        pkg = types.ModuleType("notebook.tests")
        pkg.__path__ = []
        sys.modules["notebook.tests"] = pkg
        notebook.tests = pkg
    sys.modules["notebook.tests.launchnotebook"] = sys.modules[__name__]
    sys.modules["notebook.tests"].launchnotebook = sys.modules[__name__]
