"""HubContentsManager on jupyter_server (the classes in sparkhub_contents.server).

Jupyter's own suite above runs on notebook 6; jupyter_server's test suite is
not packaged, so this checks the same manager on jupyter_server's base
classes operation by operation. Skipped when jupyter_server is missing.
"""

import os
import unittest

import nbformat
import pytest

jupyter_server = pytest.importorskip("jupyter_server.services.contents.manager")

from tornado.web import HTTPError  # noqa: E402

from hubfixture import wipe  # noqa: E402


class ServerFlavourTest(unittest.TestCase):
    def setUp(self):
        if not os.environ.get("SPARKHUB_FIXTURE_URL"):
            self.skipTest("run from the Go test contents.TestJupyterSuite")
        from sparkhub_contents.server import HubCheckpoints, HubContentsManager

        wipe()
        self.cm = HubContentsManager()
        self.assertIsInstance(self.cm.checkpoints, HubCheckpoints)
        self.assertIsInstance(self.cm, jupyter_server.ContentsManager)

    def tearDown(self):
        wipe()

    def test_round_trip(self):
        cm = self.cm
        model = cm.new_untitled(type="notebook")
        self.assertEqual(model["path"], "Untitled.ipynb")
        full = cm.get(model["path"])
        full["content"].cells.append(nbformat.v4.new_markdown_cell("hi"))
        saved = cm.save(full, model["path"])
        again = cm.get(model["path"], content=False)
        self.assertEqual(saved["last_modified"], again["last_modified"])
        self.assertEqual(cm.get(model["path"])["content"].cells[0].source, "hi")

        cp = cm.create_checkpoint(model["path"])
        self.assertEqual([c["id"] for c in cm.list_checkpoints(model["path"])], [cp["id"]])
        cm.rename(model["path"], "renamed.ipynb")
        self.assertEqual(len(cm.list_checkpoints("renamed.ipynb")), 1)
        cm.restore_checkpoint(cp["id"], "renamed.ipynb")

        cm.new({"type": "directory"}, "d")
        copy = cm.copy("renamed.ipynb", "d")
        self.assertEqual(copy["path"], "d/renamed.ipynb")
        cm.delete("d")
        self.assertFalse(cm.dir_exists("d"))
        with self.assertRaises(HTTPError) as e:
            cm.get("d/renamed.ipynb")
        self.assertEqual(e.exception.status_code, 404)

    def test_hash(self):
        import inspect

        cm = self.cm
        if "require_hash" not in inspect.signature(cm.get).parameters:
            self.skipTest("no require_hash")
        cm.save({"type": "file", "format": "text", "content": "abc"}, "a.txt")
        model = cm.get("a.txt", require_hash=True)
        self.assertEqual(model["hash_algorithm"], "sha256")
        self.assertEqual(cm.hash_algorithm, model["hash_algorithm"])
        self.assertEqual(model["hash"], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
