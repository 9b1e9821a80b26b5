"""Staff pages (Japanese first): acquisitions (titles and licences), the licence expiry forecast and repurchase
list, circulation statistics (aggregates with at least ``K`` loans per cell), patron support and the counter's
one-time codes. Staff log in with a Django staff account (``anchorid library staff-add``), with the shared lockout.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from anchorid.common import password_lockout
from anchorid.library import catalogue, circulation
from anchorid.library.models import Budget, Category, Hold, Licence, Loan, Patron, Title

#: A statistics cell with fewer loans than this is not shown (it could point at a person).
K = 10

View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not (request.user.is_authenticated and request.user.is_staff):
            return redirect(f"/staff/login/?next={request.path}")
        return view(request, *args, **kwargs)

    return wrapper


def _page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    context.setdefault("anchorid_site_name", _("e-Library staff"))
    return render(request, template, context, status=status)


class StaffLoginView(auth_views.LoginView):
    template_name = "library/staff_login.html"
    authentication_form = password_lockout.LockoutAuthenticationForm
    next_page = "/staff/"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return password_lockout.answer_locked_with_429(super().post(request, *args, **kwargs), request)


class TitleForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=300)
    title_yomi = forms.CharField(label=gettext_lazy("Reading (kana)"), max_length=300, required=False)
    authors = forms.CharField(label=gettext_lazy("Authors"), max_length=300, required=False)
    publisher = forms.CharField(label=gettext_lazy("Publisher"), max_length=200, required=False)
    isbn = forms.CharField(label="ISBN", max_length=20, required=False)
    ndc = forms.CharField(label=gettext_lazy("NDC class"), max_length=8, required=False)
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=[("ja", "日本語"), ("en", "English")])
    vertical = forms.BooleanField(label=gettext_lazy("Vertical writing"), required=False)

    def clean_isbn(self) -> str:
        raw = self.cleaned_data["isbn"]
        if not raw:
            return ""
        try:
            return catalogue.normalise_isbn(raw)
        except catalogue.BadISBN as error:
            raise forms.ValidationError(str(error)) from None

    def clean_ndc(self) -> str:
        value: str = self.cleaned_data["ndc"].strip()
        if value and not catalogue.NDC_PATTERN.match(value):
            raise forms.ValidationError(_("An NDC class looks like 913.6."))
        return value


class LicenceForm(forms.Form):
    title_id = forms.IntegerField(min_value=1, max_value=2**31 - 1, label=gettext_lazy("Title number"))
    model = forms.ChoiceField(choices=Licence.Model.choices, label=gettext_lazy("Licence model"))
    cost_yen = forms.IntegerField(min_value=0, max_value=10_000_000, label=gettext_lazy("Cost (yen)"))
    max_loans = forms.IntegerField(min_value=1, max_value=100_000, required=False, label=gettext_lazy("Loans"))
    months = forms.IntegerField(min_value=1, max_value=120, required=False, label=gettext_lazy("Months"))


@require_http_methods(["GET", "POST"])
@staff_required
def home(request: HttpRequest) -> HttpResponse:
    title_form = TitleForm(prefix="t")
    licence_form = LicenceForm(prefix="l")
    if request.method == "POST" and request.POST.get("action") == "title":
        title_form = TitleForm(request.POST, prefix="t")
        if title_form.is_valid():
            title = Title.objects.create(**title_form.cleaned_data)
            catalogue.index(title)
            messages.success(request, _("Title %(id)s added.") % {"id": title.pk})
            return redirect("library_staff_home")
    elif request.method == "POST" and request.POST.get("action") == "licence":
        licence_form = LicenceForm(request.POST, prefix="l")
        if licence_form.is_valid():
            data = licence_form.cleaned_data
            bought = Title.objects.filter(pk=data["title_id"]).first()
            if bought is None:
                licence_form.add_error("title_id", _("There is no such title."))
            else:
                try:
                    circulation.add_licence(bought, data["model"], cost_yen=data["cost_yen"],
                                            max_loans=data["max_loans"], months=data["months"])  # fmt: skip
                except ValueError as error:
                    licence_form.add_error(None, str(error))
                else:
                    messages.success(request, _("Licence bought."))
                    return redirect("library_staff_home")
    status = 400 if request.method == "POST" else 200
    context = {
        "title_form": title_form,
        "licence_form": licence_form,
        "acquisitions": Licence.objects.select_related("title").order_by("-starts_at")[:30],
        "spent": Licence.objects.aggregate(total=Sum("cost_yen"))["total"] or 0,
        "budget": Budget.objects.first(),
    }
    return _page(request, "library/staff_home.html", context, status=status)


@staff_required
def licences(request: HttpRequest) -> HttpResponse:
    context = {"forecast": circulation.expiry_forecast(), "repurchase": circulation.repurchase_list()}
    return _page(request, "library/staff_licences.html", context)


def statistics() -> list[dict[str, Any]]:
    """Loans by patron category and month, only cells with at least K loans (the rest are summed as hidden)."""
    rows = (
        Loan.objects.values("category", "started_at__year", "started_at__month")
        .annotate(loans=Count("id"))
        .order_by("-started_at__year", "-started_at__month", "category")
    )
    shown: list[dict[str, Any]] = []
    for row in rows:
        shown.append(
            {
                "category": Category(row["category"]).label,
                "month": f"{row['started_at__year']}-{row['started_at__month']:02d}",
                "loans": row["loans"] if row["loans"] >= K else None,
            }
        )
    return shown


@staff_required
def stats(request: HttpRequest) -> HttpResponse:
    context = {
        "rows": statistics(),
        "k": K,
        "patrons": {
            Category(row["category"]).label: row["n"] if row["n"] >= K else None
            for row in Patron.objects.values("category").annotate(n=Count("id"))
        },
    }
    return _page(request, "library/staff_stats.html", context)


@require_http_methods(["GET", "POST"])
@staff_required
def support(request: HttpRequest) -> HttpResponse:
    """Patron support: by library card number, the patron record and its loans and holds; cancel a hold; issue
    the counter's codes."""
    context: dict[str, Any] = {}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "grant":
                context["code"] = circulation.issue_grant(request.POST.get("category", ""))
            elif action == "card":
                context["code"] = circulation.issue_card_link(request.POST.get("card", ""))
        except ValueError as error:
            messages.error(request, str(error))
            return _page(request, "library/staff_support.html", context, status=400)
    card = request.GET.get("card", "").strip()[:12]
    if card:
        patron = Patron.objects.filter(card_number=card).first()
        context["searched"] = card
        if patron is not None:
            context["found"] = patron
            context["loans"] = Loan.objects.filter(patron=patron).select_related("title").order_by("-started_at")[:20]
            context["holds"] = Hold.objects.filter(patron=patron).select_related("title").order_by("-placed_at")[:20]
    context["now"] = timezone.now()
    context["categories"] = [(value, label) for value, label in Category.choices if value != Category.RESIDENT]
    return _page(request, "library/staff_support.html", context)


urls = [
    path("login/", StaffLoginView.as_view(), name="library_staff_login"),
    path("", home, name="library_staff_home"),
    path("licences/", licences, name="library_staff_licences"),
    path("stats/", stats, name="library_staff_stats"),
    path("support/", support, name="library_staff_support"),
]
