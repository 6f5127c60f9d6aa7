"""jupyter_server's tests/services/contents/test_checkpoints.py on
HubContentsManager with HubCheckpoints, in place of the LargeFileManager
and FileCheckpoints pairs it names; nothing is skipped.
"""

import pytest

import server_suite

server_suite.load()

from hubfixture import ServicePath, wipe  # noqa: E402
from tests.conftest import contents  # noqa: E402,F401
from tests.services.contents.test_checkpoints import *  # noqa: E402,F401,F403


@pytest.fixture
def contents_dir():
    return ServicePath()


@pytest.fixture
def contents_manager(request):
    cm = server_suite.hub_manager()
    request.getfixturevalue("contents")  # after hub_manager empties the service
    yield cm
    wipe()
