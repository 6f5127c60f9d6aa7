"""The contents manager and checkpoints, written once for both Jupyters."""

import nbformat
from tornado.web import HTTPError
from traitlets import Float, Unicode, default

from ._client import Client, convert_times


def _is_hidden(path):
    return any(part.startswith(".") for part in path.strip("/").split("/") if part)


def build(ContentsManager, Checkpoints):
    """Make (HubContentsManager, HubCheckpoints) on a Jupyter's base classes."""

    class HubCheckpoints(Checkpoints):
        """Checkpoints kept by the contents service, any number per file.

        The service moves and deletes a file's checkpoints together with
        the file, so the rename and delete-all hooks have nothing to do.
        """

        @property
        def _hub(self):
            return self.parent._hub

        def create_checkpoint(self, contents_mgr, path):
            _, cp = self._hub.request("POST", path.strip("/") + "/checkpoints")
            return convert_times(cp)

        def restore_checkpoint(self, contents_mgr, checkpoint_id, path):
            self._hub.request("POST", path.strip("/") + "/checkpoints/" + str(checkpoint_id))

        def list_checkpoints(self, path):
            _, cps = self._hub.request("GET", path.strip("/") + "/checkpoints")
            return [convert_times(cp) for cp in cps or []]

        def delete_checkpoint(self, checkpoint_id, path):
            self._hub.request("DELETE", path.strip("/") + "/checkpoints/" + str(checkpoint_id))

        def rename_checkpoint(self, checkpoint_id, old_path, new_path):
            pass

        def rename_all_checkpoints(self, old_path, new_path):
            pass

        def delete_all_checkpoints(self, path):
            pass

    class HubContentsManager(ContentsManager):
        """Forwards every contents operation to sparkhub's contents service."""

        contents_url = Unicode(
            "", config=True,
            help="The user's contents API; default: $SPARKHUB_CONTENTS_URL.",
        )
        contents_token = Unicode(
            "", config=True,
            help="A token with the contents scope; default: $SPARKHUB_CONTENTS_TOKEN.",
        )
        request_timeout = Float(120.0, config=True, help="Seconds to wait for the contents service.")
        hash_algorithm = Unicode(
            "sha256", read_only=True,
            help="The algorithm of the hashes the contents service gives (get with require_hash).",
        )

        @default("checkpoints_class")
        def _checkpoints_class_default(self):
            return HubCheckpoints

        @property
        def _hub(self):
            client = getattr(self, "_hub_client", None)
            if client is None:
                client = self._hub_client = Client.from_env(self.contents_url, self.contents_token, self.request_timeout)
            return client

        def info_string(self):
            return "Serving notebooks from the sparkhub contents service at %s" % self._hub.url

        def get_kernel_path(self, path, model=None):
            # Kernels start in the server's own directory: the files are
            # in the database, not on this disk.
            return ""

        def is_hidden(self, path):
            return _is_hidden(path)

        def _probe(self, path, type_):
            if _is_hidden(path) and not self.allow_hidden:
                # The service hides these; saying "missing" would turn
                # Jupyter's 400 for hidden paths into a 404.
                raise HTTPError(400, "Cannot use the hidden file or directory %r" % path)
            try:
                self._hub.request("GET", path, {"type": type_, "content": "0"})
                return True
            except HTTPError as e:
                if e.status_code in (400, 404):
                    return False
                raise

        def file_exists(self, path=""):
            path = path.strip("/")
            return bool(path) and self._probe(path, "file")

        def dir_exists(self, path):
            return self._probe(path.strip("/"), "directory")

        def exists(self, path):
            try:
                self._hub.request("GET", path.strip("/"), {"content": "0"})
                return True
            except HTTPError as e:
                if e.status_code == 404:
                    return False
                raise

        def get(self, path, content=True, type=None, format=None, require_hash=False):
            params = {"content": "1" if content else "0"}
            if type:
                params["type"] = type
            if format:
                params["format"] = format
            if require_hash:
                params["hash"] = "1"
            _, model = self._hub.request("GET", path.strip("/"), params)
            convert_times(model)
            if model.get("type") == "notebook" and content:
                model.pop("message", None)
                nb = nbformat.from_dict(model["content"])
                if nb.get("nbformat", 4) < 4:
                    nb = nbformat.convert(nb, 4)
                self.mark_trusted_cells(nb, path)
                model["content"] = nb
                self.validate_notebook_model(model)
            return model

        def save(self, model, path=""):
            path = path.strip("/")
            chunk = model.get("chunk")
            if chunk is not None:
                # LargeFileManager's checks and messages.
                if "type" not in model:
                    raise HTTPError(400, "No file type provided")
                if model["type"] != "file":
                    raise HTTPError(400, 'File type "{}" is not supported for large file transfer'.format(model["type"]))
                if "content" not in model:
                    raise HTTPError(400, "No file content provided")
                if model.get("format") not in ("text", "base64"):
                    raise HTTPError(400, "Must specify format of file contents as 'text' or 'base64'")
            if "type" not in model:
                raise HTTPError(400, "No model type provided")
            if "content" not in model and model["type"] != "directory":
                raise HTTPError(400, "No file content provided")
            if chunk is None or chunk == 1:
                self.run_pre_save_hook(model=model, path=path)
            body = {k: model[k] for k in ("type", "format", "content", "chunk") if k in model}
            if model["type"] == "notebook":
                nb = nbformat.from_dict(model["content"])
                if nb.get("nbformat", 4) < 4:
                    nb = nbformat.convert(nb, 4)
                self.check_and_sign(nb, path)
                body["content"] = nb
            _, saved = self._hub.request("PUT", path, body=body)
            convert_times(saved)
            if model["type"] == "notebook":
                # nbformat's own validator, not the service's summary of it.
                saved.pop("message", None)
                checked = {"content": nb}
                self.validate_notebook_model(checked)
                if "message" in checked:
                    saved["message"] = checked["message"]
            return saved

        def delete_file(self, path):
            self._hub.request("DELETE", path.strip("/"))

        def rename_file(self, old_path, new_path):
            self._hub.request("PATCH", old_path.strip("/"), body={"path": new_path.strip("/")})

        def new_untitled(self, path="", type="", ext=""):
            body = {}
            if type:
                body["type"] = type
            if ext:
                body["ext"] = ext
            _, model = self._hub.request("POST", path.strip("/"), body=body)
            return convert_times(model)

        def copy(self, from_path, to_path=None):
            from_path = from_path.strip("/")
            if to_path is None:
                to_path = from_path.rsplit("/", 1)[0] if "/" in from_path else ""
            to_path = to_path.strip("/")
            if self.dir_exists(to_path):
                _, model = self._hub.request("POST", to_path, body={"copy_from": from_path})
                return convert_times(model)
            # A file name as the target: read and save, as Jupyter does.
            return super().copy(from_path, to_path)

    return HubContentsManager, HubCheckpoints
