"""Loads jupyter_server's own contents tests for the test_server_* modules.

They come from the sdist of the jupyter_server the test virtualenv pins
(scripts/test-venv unpacks it; SPARKHUB_SERVER_SUITE names the folder)
and run against HubContentsManager and HubCheckpoints, talking to a live
contents service (the Go test contents.TestJupyterServerSuite). Each
module imports one of jupyter_server's test modules and replaces the
fixtures that make a FileContentsManager, or write to its disk, with
ones for the hub (hubfixture).
"""

import os
import sys

import pytest

from hubfixture import FIXTURE_URL

SUITE = os.environ.get("SPARKHUB_SERVER_SUITE", "")


def load():
    """Skip the calling module unless the suite and the service are here;
    then make jupyter_server's `tests` package importable."""
    if not SUITE or not FIXTURE_URL:
        pytest.skip(
            "SPARKHUB_SERVER_SUITE or SPARKHUB_FIXTURE_URL is not set: run these from the Go test "
            "contents.TestJupyterServerSuite", allow_module_level=True,
        )
    if SUITE not in sys.path:
        sys.path.insert(0, SUITE)


def skip(namespace, reasons):
    """Mark the tests named in reasons, in a module's namespace, skipped
    with the reason given."""
    for name, reason in reasons.items():
        if name not in namespace:
            raise LookupError(f"{name} is not among jupyter_server's tests: update the skip list")
        namespace[name] = pytest.mark.skip(reason=reason)(namespace[name])


def hub_manager():
    """A HubContentsManager on jupyter_server's base classes, for the
    user's contents service, which starts empty."""
    from hubfixture import wipe
    from sparkhub_contents.server import HubCheckpoints, HubContentsManager

    wipe()
    cm = HubContentsManager()
    assert isinstance(cm.checkpoints, HubCheckpoints)
    return cm
