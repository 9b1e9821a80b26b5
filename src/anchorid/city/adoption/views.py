"""``/staff/adoption/``: the adoption dashboard (staff with the ``reports`` area), its charts and CSV files."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from anchorid.city.adoption import adoption, charts, tables
from anchorid.city.staff.csv_export import csv_response
from anchorid.city.staff.views import page, staff_required
from anchorid.common.adoption_bands import K_ANONYMITY

CHARTS = ("national", "city", "adoption")


def _context() -> dict[str, object]:
    national = tables.national()
    city = adoption.city_bands()
    shares = adoption.weekly_shares()
    return {
        "national": national,
        "national_obs": tables.observations(national),
        "national_as_of": tables.NATIONAL_AS_OF,
        "city": city,
        "city_obs": tables.observations(city) if city else None,
        "latest": adoption.latest_shares(shares),
        "shares": shares,
        "actions": adoption.where_to_act(shares, national),
        "k": K_ANONYMITY,
    }


@require_GET
@staff_required("reports")
def dashboard(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("csv", "")
    if kind:
        return _csv(kind)
    return page(request, "adoption/dashboard.html", _context())


def _csv(kind: str) -> HttpResponse:
    if kind == "national":
        return csv_response("card-issuance-national.csv", tables.TABLE_HEADER, tables.table_rows(tables.national()))
    if kind == "city":
        return csv_response("card-issuance-city.csv", tables.TABLE_HEADER, tables.table_rows(adoption.city_bands()))
    if kind == "observations":
        rows = [["national", *row] for row in tables.observations(tables.national()).as_rows()]
        city = adoption.city_bands()
        if city:
            rows += [["city", *row] for row in tables.observations(city).as_rows()]
        return csv_response("observations.csv", ["table", "observation", "value"], rows)
    if kind == "adoption":
        shares = adoption.weekly_shares()
        return csv_response("anchorid-adoption.csv", adoption.SHARES_HEADER, adoption.share_rows(shares))
    if kind == "act":
        actions = adoption.where_to_act(adoption.weekly_shares(), tables.national())
        act_rows: list[list[object]] = [
            [a.age_band, a.sex, adoption.share_rows([a.share])[0][5], round(a.national_rate, 1), str(a.measure)]
                for a in actions]  # fmt: skip
        return csv_response("where-to-act.csv", ["age_band", "sex", "share_pct", "national_card_rate_pct", "measure"],
                            act_rows)  # fmt: skip
    raise Http404


@require_GET
@staff_required("reports")
def chart(request: HttpRequest, name: str) -> HttpResponse:
    if name not in CHARTS:
        raise Http404
    if name == "national":
        bands = tables.national()
        spec = charts.issuance_chart(bands, _("Card issuance, Japan"), tables.observations(bands).average_rate)
    elif name == "city":
        bands = adoption.city_bands()
        if not bands:
            raise Http404
        spec = charts.issuance_chart(bands, _("Card issuance, the city"), tables.observations(bands).average_rate)
    else:
        spec = charts.adoption_chart(adoption.weekly_shares(), _("AnchorID accounts, share of the population"))
    response = HttpResponse(charts.to_svg(spec), content_type="image/svg+xml")
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@staff_required("reports")
def refresh(request: HttpRequest) -> HttpResponse:
    from anchorid.city.login import client

    try:
        adoption.store(adoption.fetch(client()))
    except adoption.FetchError as error:
        messages.error(request, _("The counts could not be read from AnchorID: %(reason)s") % {"reason": error})
    else:
        messages.success(request, _("The adoption counts were read from AnchorID."))
    return redirect("staff_adoption")
