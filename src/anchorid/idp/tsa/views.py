"""``POST /tsa``: RFC 3161 over HTTP (§3.4): application/timestamp-query in, application/timestamp-reply out.

Every answer to a POST is a DER TimeStampResp, refusals included (status rejection + failInfo), so a client
always gets something it can parse; the HTTP status says roughly the same (200 granted or refused by the
protocol, 413 too large, 415 wrong content type). The body is read up to a small limit, never whole.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from anchorid.idp.deviceca.keys import ca_keystore

if TYPE_CHECKING:
    from anchorid.idp.tsa.authority import LoadedTsa

logger = logging.getLogger(__name__)


def _reply(body: bytes, status: int = 200) -> HttpResponse:
    from anchorid.idp.tsa import rfc3161

    response = HttpResponse(body, content_type=rfc3161.REPLY_CONTENT_TYPE, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _load() -> LoadedTsa:
    from anchorid.idp.tsa.authority import load_tsa

    return load_tsa(ca_keystore())


@csrf_exempt
@require_POST
def tsa_view(request: HttpRequest) -> HttpResponse:
    # pyHanko (behind rfc3161) is imported on first use: it takes ~1 s, and the URLconf should load fast.
    from anchorid.idp.tsa import rfc3161

    if request.content_type != rfc3161.QUERY_CONTENT_TYPE:
        return _reply(rfc3161.rejection("bad_request", f"send Content-Type: {rfc3161.QUERY_CONTENT_TYPE}"), 415)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > rfc3161.MAX_REQUEST_BYTES:
        return _reply(rfc3161.rejection("bad_data_format", "the request is too large"), 413)
    data = request.read(rfc3161.MAX_REQUEST_BYTES + 1)
    if len(data) > rfc3161.MAX_REQUEST_BYTES:
        return _reply(rfc3161.rejection("bad_data_format", "the request is too large"), 413)
    return _reply(rfc3161.respond(data, _load))


@require_GET
def tsa_crl_view(request: HttpRequest, serial: str) -> HttpResponse:
    """``GET /pki/tsa/<serial>.crl``: the CRL of that TSA certificate (its cRLDistributionPoint), DER."""
    from anchorid.common.pki.crl import CRL_CONTENT_TYPE
    from anchorid.idp.tsa.models import TsaCertificate

    row = TsaCertificate.objects.filter(serial=serial).exclude(crl_der=None).first()
    if row is None or row.crl_der is None:
        return HttpResponse("no such TSA certificate CRL", status=404, content_type="text/plain")
    return HttpResponse(bytes(row.crl_der), content_type=CRL_CONTENT_TYPE)
