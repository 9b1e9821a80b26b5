"""The dashboard's charts: Vega-Lite specifications built with Altair, rendered to SVG on the server by vl-convert
(the pages stay script-free under the strict CSP; the same data is offered as CSV beside each chart)."""

from __future__ import annotations

from typing import Any

import altair as alt

from anchorid.city.adoption.adoption import Share
from anchorid.city.adoption.tables import Band

WIDTH = 560


def _rates(bands: list[Band]) -> list[dict[str, Any]]:
    values = []
    for order, band in enumerate(bands):
        values.append({"band": band.age_band, "order": order, "sex": "male / 男", "rate": round(band.rate_male, 1)})
        values.append({"band": band.age_band, "order": order, "sex": "female / 女", "rate": round(band.rate_female, 1)})
    return values


def issuance_chart(bands: list[Band], title: str, average: float) -> dict[str, Any]:
    base = alt.Chart({"values": _rates(bands)})
    lines = base.mark_line(point=True).encode(
        x=alt.X("band:N", sort=alt.EncodingSortField("order"), title="age / 年齢"),
        y=alt.Y("rate:Q", title="issued % / 交付率 (%)", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color(
            "sex:N",
            title=None,
            legend=alt.Legend(orient="bottom"),
            scale=alt.Scale(domain=["male / 男", "female / 女"], range=["#0017c1", "#d32f2f"]),
        ),
        strokeDash=alt.StrokeDash("sex:N", legend=None),
    )
    rule = alt.Chart({"values": [{"average": round(average, 1)}]}).mark_rule(color="#666").encode(y="average:Q")
    chart = alt.layer(lines, rule).properties(title=title, width=WIDTH, height=260)
    spec: dict[str, Any] = chart.to_dict()
    return spec


def adoption_chart(shares: list[Share], title: str) -> dict[str, Any]:
    values = [
        {"week": s.week.isoformat(), "cell": f"{s.age_band} {s.sex}", "share": round(s.share_pct, 2)}
        for s in shares
        if s.share_pct is not None
    ]
    chart = (
        alt.Chart({"values": values})
        .mark_line(point=True)
        .encode(
            x=alt.X("week:T", title="week / 週"),
            y=alt.Y("share:Q", title="onboarded % of population / 登録率 (%)"),
            color=alt.Color("cell:N", title=None, legend=alt.Legend(orient="bottom", columns=3)),
        )
        .properties(title=title, width=WIDTH, height=260)
    )
    spec: dict[str, Any] = chart.to_dict()
    return spec


def to_svg(spec: dict[str, Any]) -> str:
    import vl_convert

    svg: str = vl_convert.vegalite_to_svg(spec)
    return svg
