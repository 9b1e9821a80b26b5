"""The city counter's page at AnchorID (``/staff/guardians/``) and the guardian's "confirm at the counter" step.

Counter staff are idp accounts with ``is_staff`` and the ``guardians.confirm_at_counter`` permission
(``anchorid idp guardians counter-staff``); they log in with a password at ``/admin/login/`` (the shared lockout)
and work on this one page: find the guardian's request by its code, check the documents, type the child's
attributes from them, confirm. The guardianship records the staff member's login and the documents checked.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from anchorid.idp.assurance import Level
from anchorid.idp.guardians import counter, service
from anchorid.idp.guardians.views import _guardian, _message
from anchorid.idp.selfservice.presentation import attribute_rows
from anchorid.idp.sessions import FRESH, requires_level
from anchorid.jpki.attributes import BasicFourInfo, Gender, InvalidAttribute

PERMISSION = "guardians.confirm_at_counter"
View = Callable[..., HttpResponse]


def counter_staff_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not (user.is_authenticated and user.is_staff and user.has_perm(PERMISSION)):
            return redirect(f"/admin/login/?next={quote(request.path)}")
        return view(request, *args, **kwargs)

    return wrapper


@require_POST
@requires_level(Level.DERIVED, max_age=FRESH)
def request_counter(request: HttpRequest) -> HttpResponse:
    """The guardian, after the child's card step: confirm at the city counter instead of the register."""
    try:
        made = counter.open_request(_guardian(request), request.session)
    except service.GuardianRefused as refusal:
        messages.error(request, _message(refusal.code))
        return redirect("guardians_children")
    messages.success(request, _("Show the code %(code)s at the city counter with the documents.") % {
        "code": made.code})  # fmt: skip
    return redirect("guardians_children")


DOCUMENT_LABELS = {
    "koseki": gettext_lazy("Family register (戸籍謄本・抄本)"),
    "juminhyo": gettext_lazy("Certificate of residence with the household (住民票の写し)"),
    "boshi_techo": gettext_lazy("Maternal and child health handbook (母子健康手帳)"),
    "other_official": gettext_lazy("Another official document naming the guardian"),
}


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("The guardian's counter code"),
        max_length=20,
        help_text=gettext_lazy("8 letters and digits, shown on the guardian's “My children” page"),
    )


class ChildForm(forms.Form):
    code = forms.CharField(widget=forms.HiddenInput, max_length=20)
    name = forms.CharField(label=gettext_lazy("Child's name (family name, a space, given name)"), max_length=100)
    birth_date = forms.DateField(label=gettext_lazy("Date of birth"),
                                 widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))  # fmt: skip
    gender = forms.ChoiceField(label=gettext_lazy("Gender"), choices=[
        (Gender.MALE.value, gettext_lazy("Male")), (Gender.FEMALE.value, gettext_lazy("Female"))])  # fmt: skip
    address = forms.CharField(label=gettext_lazy("Address"), max_length=200)
    documents = forms.MultipleChoiceField(label=gettext_lazy("Documents checked"),
                                          choices=list(DOCUMENT_LABELS.items()),
                                          widget=forms.CheckboxSelectMultiple)  # fmt: skip

    def info(self) -> BasicFourInfo:
        data = self.cleaned_data
        name = "\u3000".join(str(data["name"]).split())
        return BasicFourInfo.plain(name, data["birth_date"], Gender(data["gender"]), str(data["address"]).strip())


def _page(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    context.setdefault("anchorid_site_name", _("AnchorID counter"))
    return render(request, "guardians/counter.html", context, status=status)


@require_http_methods(["GET", "POST"])
@counter_staff_required
def counter_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ChildForm(request.POST)
        if not form.is_valid():
            return _found(request, form.data.get("code", ""), form, status=400)
        try:
            child = counter.confirm(form.cleaned_data["code"], form.info(), staff=request.user.get_username(),
                                    documents=list(form.cleaned_data["documents"]))  # fmt: skip
        except InvalidAttribute:
            form.add_error("name", _("Check the name and address as the documents write them."))
            return _found(request, form.cleaned_data["code"], form, status=400)
        except service.GuardianRefused as refusal:
            return _page(request, {"form": CodeForm(), "refused": _message(refusal.code)}, status=400)
        messages.success(request, _("Confirmed. The child's account is open; the guardian gives the child the "
                                    "set-up link from “My children”."))  # fmt: skip
        return redirect(f"{request.path}?done={child.pk}")
    if "code" in request.GET:
        code_form = CodeForm(request.GET)
        if code_form.is_valid():
            return _found(request, code_form.cleaned_data["code"], ChildForm(initial={
                "code": counter.normalize(code_form.cleaned_data["code"])}))  # fmt: skip
        return _page(request, {"form": code_form}, status=400)
    return _page(request, {"form": CodeForm()})


def _found(request: HttpRequest, code: str, form: ChildForm, status: int = 200) -> HttpResponse:
    try:
        found = counter.find_request(code)
    except service.GuardianRefused as refusal:
        return _page(request, {"form": CodeForm(initial={"code": code}), "refused": _message(refusal.code)},
                     status=404 if status == 200 else status)  # fmt: skip
    return _page(request, {"request_found": found, "guardian": attribute_rows(found.guardian.attributes()),
                           "child_form": form}, status=status)  # fmt: skip
