"""A small HTTP client for the contents API, on the standard library."""

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

from tornado.web import HTTPError

URL_ENV = "SPARKHUB_CONTENTS_URL"
TOKEN_ENV = "SPARKHUB_CONTENTS_TOKEN"


def quote_path(path):
    """Percent-encode an API path segment by segment, keeping slashes."""
    return "/".join(urllib.parse.quote(seg, safe="") for seg in path.strip("/").split("/"))


def parse_time(value):
    """Turn the API's ISO 8601 'Z' times into aware datetimes."""
    if not isinstance(value, str):
        return value
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    return datetime.fromisoformat(value).astimezone(timezone.utc)


def convert_times(model):
    """Parse a model's times, and its children's."""
    if not isinstance(model, dict):
        return model
    for key in ("created", "last_modified"):
        if key in model:
            model[key] = parse_time(model[key])
    if model.get("type") == "directory" and isinstance(model.get("content"), list):
        for child in model["content"]:
            convert_times(child)
    return model


class Client:
    """Calls one user's contents API with a token."""

    def __init__(self, url, token, timeout=60.0):
        if not url:
            raise ValueError(f"{URL_ENV} is not set: it must name the user's contents API")
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    @classmethod
    def from_env(cls, url="", token="", timeout=60.0):
        return cls(url or os.environ.get(URL_ENV, ""), token or os.environ.get(TOKEN_ENV, ""), timeout)

    def request(self, method, path, params=None, body=None):
        """Return (status, decoded JSON or None); raise HTTPError on 4xx/5xx."""
        url = self.url + "/" + quote_path(path)
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = "token " + self.token
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
                return resp.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            message = None
            reason = None
            try:
                err = json.loads(raw)
                message, reason = err.get("message"), err.get("reason")
            except (ValueError, AttributeError):
                message = raw.decode("utf-8", "replace")[:200] or None
            raise HTTPError(e.code, message, reason=reason) from None
        except (urllib.error.URLError, OSError) as e:
            raise HTTPError(503, f"The contents service cannot be reached: {getattr(e, 'reason', e)}") from None
