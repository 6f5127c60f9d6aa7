"""jupyter_server's tests/services/contents/test_api.py through a server
whose contents manager is HubContentsManager.

The tests' fixture folders and files (tests/conftest.py's `contents`)
are made in the user's contents service through the fixture door
(hubfixture.ServicePath stands for the server's root folder), and the
files a test expects to exist are looked up there.

Skipped, and why (see server_suite for how they run):
  - test_copy_dir: it copies a folder; the hub's contents service copies
    files only (400 "Can't copy directories", as jupyter_server's base
    ContentsManager).
  - test_regression_is_hidden: it sets the manager's allow_hidden; the
    hub's contents service refuses hidden files for every user, whatever
    a server asks.
"""

import types

import pytest

import server_suite

server_suite.load()

from hubfixture import ServicePath, wipe  # noqa: E402
from tests.conftest import contents, folders  # noqa: E402,F401
from tests.services.contents import test_api as upstream  # noqa: E402
from tests.services.contents.test_api import *  # noqa: E402,F401,F403
from tests.services.contents.test_api import _check_created  # noqa: E402,F401

# Jupyter's checks that a file was made look on the server's disk.
upstream.pathlib = types.SimpleNamespace(Path=ServicePath)


@pytest.fixture(autouse=True)
def empty_service():
    wipe()
    yield
    wipe()


@pytest.fixture
def jp_argv():
    return ["--ServerApp.contents_manager_class=sparkhub_contents.server.HubContentsManager"]


@pytest.fixture
def contents_dir():
    return ServicePath()


server_suite.skip(globals(), {
    "test_copy_dir": "copies a folder; the hub's contents service copies files only",
    "test_regression_is_hidden": "sets the manager's allow_hidden; the hub's contents service refuses hidden files for every user",
})
