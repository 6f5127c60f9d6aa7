"""jupyter_server's tests/services/contents/test_manager.py on HubContentsManager.

Skipped, and why (see server_suite for how they run):
  - the tests taking jp_file_contents_manager_class (test_root_dir,
    test_missing_root_dir, test_invalid_root_dir, test_get_os_path,
    test_get_os_path_posix, test_checkpoint_subdir, the symlink tests,
    test_403, test_400, test_404, test_escape_root) and those taking
    file_manager_with_notary: they construct FileContentsManager on a
    folder and check its file system behaviour (root_dir, OS paths,
    symlinks, permissions, the notary's sqlite file).
  - test_regression_is_hidden: it sets the manager's allow_hidden; the
    hub's contents service refuses hidden files for every user, whatever
    a server asks.
  - test_delete_non_empty_folder[False-False-True]: delete_to_trash and
    always_delete_dir are FileContentsManager's options; the service
    deletes a folder with what is in it.
  - test_get: it expects a file's guessed mimetype in a model without
    content; the service gives the mimetype only with the content (null
    otherwise, as pgcontents does).
  - test_copy_dir: it copies a folder; the hub's contents service copies
    files only (400 "Can't copy directories", as jupyter_server's base
    ContentsManager).
  - test_nb_validation: it counts calls of nbformat.validate, which
    FileContentsManager's nbformat.read and write make; this manager
    validates once too, through ContentsManager.validate_notebook_model.
  - test_copy_big_dir: FileContentsManager's max_copy_folder_size_mb
    over 100 MB of files on disk.
  - the _get_created_timestamp tests, test_created_timestamp and the
    created-timestamp tests that patch os.stat or os.lstat:
    FileContentsManager's reading of st_birthtime/st_ctime/st_mtime.
"""

import pytest

import server_suite

server_suite.load()

from hubfixture import mkdirs, wipe  # noqa: E402
from tests.services.contents import test_manager as upstream  # noqa: E402
from tests.services.contents.test_manager import *  # noqa: E402,F401,F403

# Jupyter's helper makes folders on the manager's disk.
upstream._make_dir = lambda cm, api_path: mkdirs(api_path)


# Cases of a parametrized test skipped, by test id, with the reason.
_CASES = {
    "test_delete_non_empty_folder[False-False-True]": "delete_to_trash and always_delete_dir are "
    "FileContentsManager's options; the service deletes a folder with what is in it",
}


@pytest.fixture
def jp_contents_manager(request):
    if request.node.name in _CASES:
        pytest.skip(_CASES[request.node.name])
    yield server_suite.hub_manager()
    wipe()


_FILE_MANAGER = "constructs FileContentsManager on a folder and checks its file system behaviour"
_STAT = "checks how FileContentsManager reads os.stat's timestamps"
server_suite.skip(globals(), {
    "test_root_dir": _FILE_MANAGER,
    "test_missing_root_dir": _FILE_MANAGER,
    "test_invalid_root_dir": _FILE_MANAGER,
    "test_get_os_path": _FILE_MANAGER,
    "test_get_os_path_posix": _FILE_MANAGER,
    "test_checkpoint_subdir": _FILE_MANAGER,
    "test_bad_symlink": _FILE_MANAGER,
    "test_recursive_symlink": _FILE_MANAGER,
    "test_good_symlink": _FILE_MANAGER,
    "test_403": _FILE_MANAGER,
    "test_400": _FILE_MANAGER,
    "test_404": _FILE_MANAGER,
    "test_escape_root": _FILE_MANAGER,
    "test_save_before_and_after_signature_store_corruption": _FILE_MANAGER,
    "test_save_raises_when_signature_store_unrecoverable": _FILE_MANAGER,
    "test_regression_is_hidden": "sets the manager's allow_hidden; the hub's contents service refuses hidden files for every user",
    "test_get": "expects a file's mimetype without its content; the service gives it only with the content "
    "(null otherwise, as pgcontents)",
    "test_copy_dir": "copies a folder; the hub's contents service copies files only",
    "test_nb_validation": "counts calls of nbformat.validate, which FileContentsManager's nbformat.read and "
    "write make; this manager validates once too, through ContentsManager.validate_notebook_model",
    "test_copy_big_dir": "FileContentsManager's max_copy_folder_size_mb, over 100 MB of files on its disk",
    "test_get_created_timestamp_uses_birthtime": _STAT,
    "test_get_created_timestamp_fallback_no_birthtime": _STAT,
    "test_get_created_timestamp_accepts_zero_birthtime": _STAT,
    "test_get_created_timestamp_fallback_negative_birthtime": _STAT,
    "test_get_created_timestamp_fallback_infinite_birthtime": _STAT,
    "test_get_created_timestamp_fallback_nan_birthtime": _STAT,
    "test_get_created_timestamp_fallback_none_birthtime": _STAT,
    "test_get_created_timestamp_fallback_string_birthtime": _STAT,
    "test_created_uses_birthtime_on_macos": _STAT,
    "test_created_uses_ctime_on_windows": _STAT,
    "test_created_timestamp_fallback_to_epoch": _STAT,
    "test_created_timestamp": "backdates the file's mtime with os.utime on FileContentsManager's disk",
    "test_base_model_invalid_timestamp_fallback": _STAT,
})
