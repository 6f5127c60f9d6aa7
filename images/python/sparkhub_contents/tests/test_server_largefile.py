"""jupyter_server's tests/services/contents/test_largefilemanager.py on
HubContentsManager, which takes chunked uploads as LargeFileManager
does; nothing is skipped. The folder the test makes in its tmp_path is
made in the user's contents service.
"""

import pytest

import server_suite

server_suite.load()

from hubfixture import ServicePath, wipe  # noqa: E402
from tests.services.contents.test_largefilemanager import *  # noqa: E402,F401,F403


@pytest.fixture
def jp_large_contents_manager():
    yield server_suite.hub_manager()
    wipe()


@pytest.fixture
def tmp_path():
    return ServicePath()
