"""A ``requests.Session`` that sends the current request id (``anchorid.common.request_id``) with every call."""

from __future__ import annotations

from typing import Any

import requests

from anchorid.common import request_id


class RequestIdSession(requests.Session):
    """Every request sent carries ``X-Request-ID`` when a request (or unit of background work) is running."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        request.headers.update(request_id.outgoing_headers())
        return super().send(request, **kwargs)
