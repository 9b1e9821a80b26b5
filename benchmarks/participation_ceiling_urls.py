"""The URLs of bench_participation.py's server: the platform's own, and the ceiling view (participation_ceiling.py)."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.http import require_POST

from anchorid.participation.urls import urlpatterns as participation_urls


@require_POST
def one_insert(request: HttpRequest) -> HttpResponse:
    from anchorid.participation.models import Notification

    with transaction.atomic():
        Notification.objects.create(participant_key="bench", text="ceiling", link="/")
    return HttpResponse("ok")


urlpatterns = [path("bench/one-insert/", one_insert), *participation_urls]
