"""The currency's pages (phone first): the wallet (balance by expiry, history, notices, charge, pay, the payment
QR), benefits, merchant registration, the merchant's page and terminal, the issuer's staff pages (approval,
settlement, the prepaid report, analytics). Bad input answers 4xx and writes nothing."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import functools
import io
import logging
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core import signing
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from anchorid.common import anonymous_rows, untrusted_json
from anchorid.common.ratelimit import RateLimited
from anchorid.common.rp.client import LoginError
from anchorid.currency import analytics, service, vendored
from anchorid.currency import login as anchorid_login
from anchorid.currency.ledger import service as ledger
from anchorid.currency.ledger.models import Transfer
from anchorid.currency.models import Member, Merchant, Notice, Payment, PaymentToken, Programme
from anchorid.currency.service import Refused

log = logging.getLogger(__name__)
SITE = gettext_lazy("Kamakura Coin")
TOKEN_SECONDS = 300

#: What a refusal means, in words (the code itself is never shown).
REASONS = {
    "invalid_amount": gettext_lazy("Enter a whole number of yen from 1 to 1,000,000."),
    "exceeds_credits": gettext_lazy("Your balance is not enough."),
    "exceeds_spendable_lots": gettext_lazy("Your balance usable at this shop is not enough."),
    "exceeds_limit": gettext_lazy("This would take your wallet over its limit."),
    "merchant_not_approved": gettext_lazy("This shop is not approved yet."),
    "not_eligible": gettext_lazy("This benefit is for other residents: you cannot claim it."),
    "budget_exhausted": gettext_lazy("This benefit's budget has run out."),
    "claim_window_closed": gettext_lazy("This benefit cannot be claimed now."),
    "tier_forbids": gettext_lazy("Transfers between people are for residents only."),
    "exceeds_payment": gettext_lazy("A refund cannot exceed what was paid."),
    "not_captured": gettext_lazy("Only a completed payment can be refunded."),
    "token_expired": gettext_lazy("This payment code has expired. Ask the customer to show a new one."),
    "token_unknown": gettext_lazy("This is not a valid payment code."),
    "exists_with_different_fields": gettext_lazy("This request was already used for something else."),
    "pending_transfer_expired": gettext_lazy("The payment took too long and was cancelled."),
    "self_transfer": gettext_lazy("You cannot send coins to yourself."),
    "exceeds_p2p_limit": gettext_lazy("This is more than one transfer between people may move."),
    "receive_code_invalid": gettext_lazy("This is not a valid receive code."),
    "receive_code_expired": gettext_lazy("This receive code has expired. Ask for a new one."),
    "invalid_request": gettext_lazy("The request could not be read. Please try again."),
    "shop_unknown": gettext_lazy("No shop has this QR code."),
}


def reason(code: str) -> str:
    return str(REASONS.get(code, _("The request could not be completed.")))


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {"anchorid_site_name": SITE, "member": _member(request), **extra}


def _member(request: HttpRequest) -> Member | None:
    current = anchorid_login.logged_in(request.session)
    if not current:
        return None
    return Member.objects.filter(sub=current["sub"]).first()


View = Callable[..., HttpResponse]


def member_required(view: View) -> View:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        member = _member(request)
        if member is None:
            if request.method == "GET":
                request.session["currency_next"] = request.get_full_path()
            messages.info(request, _("Please log in with AnchorID first."))
            return redirect("currency_home")
        request.member = member  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapped


def member_json(view: View) -> View:
    """For the JSON endpoints the pages call: 401 for a stranger, nothing stored in a session."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        member = _member(request)
        if member is None:
            return JsonResponse({"error": "login_required"}, status=401)
        request.member = member  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapped


def _claims(request: HttpRequest) -> dict[str, Any]:
    current = anchorid_login.logged_in(request.session) or {}
    claims: dict[str, Any] = current.get("claims", {})
    return claims


def _svg(data: str) -> str:
    svg: str = segno.make(data, error="m").svg_inline(scale=5, dark="#1a1a1c", light="#ffffff")
    return svg


# -- login ----------------------------------------------------------------------------------------------------------


@require_GET
@never_cache
def home(request: HttpRequest) -> HttpResponse:
    member = _member(request)
    if member is None:
        return render(request, "currency/welcome.html", _context(request))
    wallet = member.account_id
    history = Transfer.objects.filter(Q(debit_account_id=wallet) | Q(credit_account_id=wallet)).exclude(kind="post")
    rows = [
        {
            "when": t.created_at,
            "amount": t.amount if t.credit_account_id == wallet else -t.amount,
            "what": t.memo,
            "kind": t.kind,
            "state": t.state,
        }
        for t in history.order_by("-created_at")[:30]
    ]
    context = _context(
        request,
        holdings=service.holdings(member),
        balance=service.balance(member),
        history=rows,
        notices=Notice.objects.filter(member=member).order_by("expires_at")[:5],
        programmes=Programme.objects.filter(closes_at__gt=timezone.now()).order_by("pk"),
        claimed=set(member_claims(member)),
        charge_id=service.new_id("charge"),
        merchants=Merchant.objects.filter(owner_sub=member.sub),
    )
    return render(request, "currency/wallet.html", context)


def member_claims(member: Member) -> list[int]:
    from anchorid.currency.models import Claim

    return list(Claim.objects.filter(sub=member.sub).values_list("programme_id", flat=True))


@require_POST
def login(request: HttpRequest) -> HttpResponse:
    try:
        anonymous_rows.cap(request, "rp-login")
    except RateLimited as limited:
        return anonymous_rows.limited_page(request, limited, back="/")
    try:
        return HttpResponseRedirect(anchorid_login.begin_login(request.session))
    except LoginError as error:
        log.warning("login could not start: %s", error.code)
        messages.error(request, _("AnchorID could not be reached. Please try again later."))
        return redirect("currency_home")


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    try:
        claims, step_up = anchorid_login.complete_login(request.session, request.build_absolute_uri())
    except LoginError as error:
        log.info("login refused: %s", error.code)
        messages.error(request, _("The login did not succeed. Please try again."))
        return redirect("currency_home")
    current = anchorid_login.logged_in(request.session)
    assert current is not None
    member = service.join(current["sub"], claims)
    if step_up is not None:
        return _confirmed(request, member, step_up)
    messages.success(request, _("You are logged in with AnchorID."))
    return redirect(request.session.pop("currency_next", "") or "currency_home")


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    try:
        url = anchorid_login.end_session(request.session)
    except LoginError:
        return redirect("currency_home")
    return HttpResponseRedirect(url) if url else redirect("currency_home")


@require_GET
def logged_out(request: HttpRequest) -> HttpResponse:
    messages.success(request, _("You have logged out."))
    return redirect("currency_home")


# -- wallet ---------------------------------------------------------------------------------------------------------


@require_POST
@member_required
def charge(request: HttpRequest) -> HttpResponse:
    member: Member = request.member  # type: ignore[attr-defined]
    try:
        amount = service.parse_amount(request.POST.get("amount", ""))
        charge_id = _client_id(request.POST.get("charge_id", ""))
        charged, premium = service.charge(member, amount, charge_id)
    except Refused as refused:
        messages.error(request, reason(refused.code))
        return redirect("currency_home")
    if premium:
        messages.success(
            request,
            _("Charged %(amount)s yen, plus a campaign premium of %(premium)s yen.")
            % {"amount": f"{charged:,}", "premium": f"{premium:,}"},
        )
    else:
        messages.success(request, _("Charged %(amount)s yen.") % {"amount": f"{charged:,}"})
    return redirect("currency_home")


def _client_id(raw: str) -> str:
    """An id the page generated and the browser sends back with the form: a double submit is the same request."""
    if not raw or len(raw) > 48 or not all(c.isalnum() or c in "-_" for c in raw):
        raise Refused("invalid_request")
    return raw


@require_http_methods(["GET", "POST"])
@member_required
def pay_static(request: HttpRequest, qr_token: str) -> HttpResponse:
    """The merchant's static QR opens this page: the resident enters the amount and confirms."""
    member: Member = request.member  # type: ignore[attr-defined]
    merchant = Merchant.objects.filter(qr_token=qr_token).first()
    if merchant is None:
        raise Http404("no such shop")
    if request.method == "GET":
        if merchant.status != Merchant.APPROVED:
            return render(
                request, "currency/error.html", _context(request, text=reason("merchant_not_approved")), status=409
            )
        context = _context(request, merchant=merchant, payment_id=service.new_id("pay"), step_up=settings_step_up())
        return render(request, "currency/pay.html", context)
    try:
        amount = service.parse_amount(request.POST.get("amount", ""))
        payment_id = _client_id(request.POST.get("payment_id", ""))
        if merchant.status != Merchant.APPROVED:
            raise Refused("merchant_not_approved")
    except Refused as refused:
        return render(request, "currency/error.html", _context(request, text=reason(refused.code)), status=400)
    intent = {"what": "static", "merchant": merchant.pk, "amount": amount, "payment_id": payment_id}
    if amount > settings_step_up():
        return _step_up(request, intent)
    return _confirmed(request, member, {**intent, "merchant_row": merchant})


def settings_step_up() -> int:
    from anchorid.common import config

    value: int = config.CURRENCY_STEP_UP_YEN.value()
    return value


def _step_up(request: HttpRequest, intent: dict[str, Any]) -> HttpResponse:
    try:
        return HttpResponseRedirect(anchorid_login.begin_step_up(request.session, intent))
    except (LoginError, FileNotFoundError):  # AnchorID unreachable, or this currency not set up with it yet
        messages.error(request, _("AnchorID could not be reached. Please try again later."))
        return redirect("currency_home")


def _confirmed(request: HttpRequest, member: Member, intent: dict[str, Any]) -> HttpResponse:
    """Carry out what the resident confirmed (after the step-up when the amount needed one)."""
    if intent["what"] == "send":
        return _send_confirmed(request, member, intent)
    try:
        if intent["what"] == "static":
            merchant = intent.get("merchant_row") or Merchant.objects.get(pk=intent["merchant"])
            payment = service.pay(member, merchant, int(intent["amount"]), intent["payment_id"], "static")
        else:
            payment = Payment.objects.get(pk=intent["payment_id"], member=member)
            payment = service.capture(payment) if payment.state == Payment.AUTHORISED else payment
    except Refused as refused:
        messages.error(request, reason(refused.code))
        return redirect("currency_home")
    shop = intent["merchant_row"].name if "merchant_row" in intent else payment.merchant.name
    messages.success(request, _("Paid %(amount)s yen to %(shop)s.") % {"amount": f"{payment.amount:,}", "shop": shop})
    return redirect("currency_home")


@require_POST
@member_required
def payment_code(request: HttpRequest) -> HttpResponse:
    """A one-time payment QR for the merchant's terminal to read (valid five minutes)."""
    member: Member = request.member  # type: ignore[attr-defined]
    token = PaymentToken.objects.create(
        token=secrets.token_urlsafe(24),
        member=member,
        expires_at=timezone.now() + datetime.timedelta(seconds=TOKEN_SECONDS),
    )
    return redirect("currency_payment_code_show", token=token.token)


@require_GET
@member_required
def payment_code_show(request: HttpRequest, token: str) -> HttpResponse:
    member: Member = request.member  # type: ignore[attr-defined]
    found = get_object_or_404(PaymentToken, token=token, member=member)
    payload = f"KMC1:{found.token}"
    context = _context(request, token=found, qr=_svg(payload), payload=payload, step_up=settings_step_up())
    return render(request, "currency/payment_code.html", context)


@require_GET
@member_json
@never_cache
def payment_code_status(request: HttpRequest, token: str) -> JsonResponse:
    member: Member = request.member  # type: ignore[attr-defined]
    found = PaymentToken.objects.filter(token=token, member=member).select_related("payment__merchant").first()
    if found is None:
        return JsonResponse({"error": "not_found"}, status=404)
    payment = found.payment
    if payment is None:
        return JsonResponse({"state": "expired" if found.expires_at <= timezone.now() else "waiting"})
    return JsonResponse({"state": payment.state, "amount": payment.amount, "shop": payment.merchant.name})


@require_POST
@member_required
def payment_code_confirm(request: HttpRequest, token: str) -> HttpResponse:
    member: Member = request.member  # type: ignore[attr-defined]
    found = get_object_or_404(PaymentToken, token=token, member=member)
    if found.payment is None:
        return render(request, "currency/error.html", _context(request, text=reason("token_unknown")), status=409)
    intent = {"what": "token", "payment_id": found.payment.pk}
    if found.payment.amount > settings_step_up():
        return _step_up(request, intent)
    return _confirmed(request, member, intent)


# -- transfers between residents ----------------------------------------------------------------------------------

RECEIVE_SALT = "anchorid.currency.receive"
RECEIVE_PREFIX = "KMR1:"
RECEIVE_SECONDS = 600


@require_GET
@member_required
def receive(request: HttpRequest) -> HttpResponse:
    """The code a resident shows to be sent coins: signed, valid ten minutes, naming the wallet by the member's row
    (never the pairwise ``sub``)."""
    member: Member = request.member  # type: ignore[attr-defined]
    if member.tier != Member.RESIDENT:
        return render(request, "currency/error.html", _context(request, text=reason("tier_forbids")), status=403)
    payload = RECEIVE_PREFIX + signing.TimestampSigner(salt=RECEIVE_SALT).sign(str(member.pk))
    # The QR holds the send page's address with the code: the sender's phone camera opens it ready to fill in.
    send_url = request.build_absolute_uri("/send/?" + urlencode({"code": payload}))
    return render(request, "currency/receive.html", _context(request, qr=_svg(send_url), payload=payload))


def _recipient(code: str) -> Member:
    if not code.startswith(RECEIVE_PREFIX) or len(code) > 120:
        raise Refused("receive_code_invalid")
    try:
        value = signing.TimestampSigner(salt=RECEIVE_SALT).unsign(code[len(RECEIVE_PREFIX) :], max_age=RECEIVE_SECONDS)
    except signing.SignatureExpired:
        raise Refused("receive_code_expired") from None
    except signing.BadSignature:
        raise Refused("receive_code_invalid") from None
    found = Member.objects.filter(pk=int(value)).first() if value.isdigit() else None
    if found is None:
        raise Refused("receive_code_invalid")
    return found


@require_http_methods(["GET", "POST"])
@member_required
def send(request: HttpRequest) -> HttpResponse:
    """Send purchased coins to another resident, who is named by the receive code they show (scanned or typed)."""
    member: Member = request.member  # type: ignore[attr-defined]
    context = _context(
        request, transfer_id=service.new_id("send"), step_up=settings_step_up(), limit=service.P2P_LIMIT[member.tier]
    )
    if member.tier != Member.RESIDENT:
        return render(request, "currency/error.html", _context(request, text=reason("tier_forbids")), status=403)
    if request.method == "GET":
        context["code"] = request.GET.get("code", "")[:120]  # from the recipient's QR (the form checks it)
        return render(request, "currency/send.html", context)
    try:
        to = _recipient(request.POST.get("code", "").strip())
        amount = service.parse_amount(request.POST.get("amount", ""))
        transfer_id = _client_id(request.POST.get("transfer_id", ""))
        if to.pk == member.pk:
            raise Refused("self_transfer")
        if to.tier != Member.RESIDENT:
            raise Refused("tier_forbids")
        if amount > service.P2P_LIMIT[member.tier]:
            raise Refused("exceeds_p2p_limit")
    except Refused as refused:
        context["error"] = reason(refused.code)
        context["code"] = request.POST.get("code", "")[:120]
        return render(request, "currency/send.html", context, status=400)
    intent = {"what": "send", "to": to.pk, "amount": amount, "transfer_id": transfer_id}
    if amount > settings_step_up():
        return _step_up(request, intent)
    return _send_confirmed(request, member, intent)


def _send_confirmed(request: HttpRequest, member: Member, intent: dict[str, Any]) -> HttpResponse:
    try:
        to = Member.objects.get(pk=intent["to"])
        service.send(member, to, int(intent["amount"]), intent["transfer_id"])
    except Refused as refused:
        text = (
            _("Only purchased coins can be sent to another person, and you do not have enough.")
            if refused.code == "exceeds_spendable_lots"
            else reason(refused.code)
        )
        messages.error(request, text)
        return redirect("currency_home")
    messages.success(request, _("Sent %(amount)s yen.") % {"amount": f"{int(intent['amount']):,}"})
    return redirect("currency_home")


# -- benefits -------------------------------------------------------------------------------------------------------


@require_POST
@member_required
def claim(request: HttpRequest, programme_id: int) -> HttpResponse:
    member: Member = request.member  # type: ignore[attr-defined]
    programme = get_object_or_404(Programme, pk=programme_id)
    try:
        _claim, paid = service.claim(member, programme, _claims(request))
    except Refused as refused:
        messages.error(request, reason(refused.code))
        return redirect("currency_home")
    if paid:
        messages.success(
            request,
            _("%(amount)s yen of %(name)s are in your wallet.")
            % {"amount": f"{programme.amount:,}", "name": programme.name},
        )
    else:
        messages.info(request, _("You already received %(name)s.") % {"name": programme.name})
    return redirect("currency_home")


# -- merchants ------------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@member_required
def merchant_register(request: HttpRequest) -> HttpResponse:
    member: Member = request.member  # type: ignore[attr-defined]
    categories = [(code, CATEGORY_LABELS[code]) for code in service.CATEGORIES]
    if request.method == "POST":
        try:
            merchant = service.register_merchant(
                member.sub, request.POST.get("name", ""), request.POST.get("category", "")
            )
        except Refused:
            context = _context(request, categories=categories, error=_("Enter the shop's name and choose a category."))
            return render(request, "currency/merchant_register.html", context, status=400)
        messages.success(request, _("Registered. The issuer's staff will approve your shop."))
        return redirect("currency_merchant", merchant_id=merchant.pk)
    return render(request, "currency/merchant_register.html", _context(request, categories=categories))


CATEGORY_LABELS = {
    "food": gettext_lazy("Food and drink"),
    "retail": gettext_lazy("Shops"),
    "services": gettext_lazy("Services"),
    "tourism": gettext_lazy("Tourism"),
}


def _own_merchant(request: HttpRequest, merchant_id: int) -> Merchant:
    member: Member = request.member  # type: ignore[attr-defined]
    return get_object_or_404(Merchant, pk=merchant_id, owner_sub=member.sub)


@require_GET
@member_required
def merchant_page(request: HttpRequest, merchant_id: int) -> HttpResponse:
    merchant = _own_merchant(request, merchant_id)
    pay_url = request.build_absolute_uri(f"/pay/{merchant.qr_token}/")
    context = _context(
        request,
        merchant=merchant,
        pay_url=pay_url,
        qr=_svg(pay_url) if merchant.status == Merchant.APPROVED else "",
        payments=merchant.payments.order_by("-created_at")[:50],
        refund_id=service.new_id("refund"),
        transfer_id=service.new_id("m2m"),
        balance=ledger.account(merchant.account_id).balance,
        category=CATEGORY_LABELS.get(merchant.category, ""),
    )
    return render(request, "currency/merchant.html", context)


@require_GET
@member_required
def merchant_terminal(request: HttpRequest, merchant_id: int) -> HttpResponse:
    merchant = _own_merchant(request, merchant_id)
    context = _context(
        request, merchant=merchant, payment_id=service.new_id("pay"), jsqr_integrity=vendored.JSQR_INTEGRITY
    )
    return render(request, "currency/terminal.html", context)


@require_POST
@member_json
def merchant_read_code(request: HttpRequest, merchant_id: int) -> JsonResponse:
    """The terminal read a payment QR and asks for an amount: authorise it (the resident confirms on their phone)."""
    merchant = _own_merchant(request, merchant_id)
    try:
        body = untrusted_json.loads(untrusted_json.request_body(request) or b"{}")
        if not isinstance(body, dict):
            raise ValueError
        payload, amount_raw, payment_id = body.get("code"), body.get("amount"), body.get("payment_id")
        if not isinstance(payload, str) or not payload.startswith("KMC1:") or len(payload) > 80:
            raise Refused("token_unknown")
        amount = (
            service.parse_amount(str(amount_raw))
            if isinstance(amount_raw, (int, str)) and not isinstance(amount_raw, bool)
            else service.parse_amount("")
        )
        payment_id = _client_id(payment_id if isinstance(payment_id, str) else "")
        token = PaymentToken.objects.filter(token=payload[5:]).select_related("member").first()
        if token is None:
            raise Refused("token_unknown")
        if token.payment_id is not None:
            if token.payment_id == payment_id:
                return JsonResponse({"payment": payment_id, "state": token.payment.state if token.payment else ""})
            raise Refused("token_unknown")
        if token.expires_at <= timezone.now():
            raise Refused("token_expired")
        payment = service.authorise(token.member, merchant, amount, payment_id, "token")
        if not PaymentToken.objects.filter(pk=token.pk, payment=None).update(payment=payment):
            service.void(payment)
            raise Refused("token_unknown")
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"error": "invalid_request", "message": _("The request could not be read.")}, status=400)
    except Refused as refused:
        status = 409 if refused.code in ("exceeds_credits", "exceeds_spendable_lots", "merchant_not_approved") else 400
        return JsonResponse({"error": refused.code, "message": reason(refused.code)}, status=status)
    return JsonResponse({"payment": payment.pk, "state": payment.state, "amount": payment.amount})


@require_GET
@member_json
@never_cache
def merchant_payments(request: HttpRequest, merchant_id: int) -> JsonResponse:
    """The terminal's live list (polled every two seconds)."""
    merchant = _own_merchant(request, merchant_id)
    rows = [
        {
            "id": p.pk[-6:],
            "amount": p.amount,
            "state": p.state,
            "refunded": p.refunded,
            "at": timezone.localtime(p.created_at).strftime("%H:%M:%S"),
        }
        for p in merchant.payments.order_by("-created_at")[:20]
    ]
    return JsonResponse({"payments": rows})


@require_POST
@member_required
def merchant_refund(request: HttpRequest, merchant_id: int, payment_id: str) -> HttpResponse:
    merchant = _own_merchant(request, merchant_id)
    payment = get_object_or_404(Payment, pk=payment_id, merchant=merchant)
    try:
        amount = service.parse_amount(request.POST.get("amount", ""))
        service.refund(payment, amount, _client_id(request.POST.get("refund_id", "")))
    except Refused as refused:
        messages.error(request, reason(refused.code))
    else:
        messages.success(request, _("Refunded %(amount)s yen.") % {"amount": f"{amount:,}"})
    return redirect("currency_merchant", merchant_id=merchant.pk)


@require_POST
@member_required
def merchant_pay(request: HttpRequest, merchant_id: int) -> HttpResponse:
    """The shop pays another shop (named by its static QR, the link or the code in it) from its coin balance."""
    merchant = _own_merchant(request, merchant_id)
    try:
        raw = request.POST.get("shop", "").strip().rstrip("/")
        token = raw.rsplit("/pay/", 1)[-1] if "/pay/" in raw else raw
        payee = Merchant.objects.filter(qr_token=token).first() if 0 < len(token) <= 32 else None
        if payee is None:
            raise Refused("shop_unknown")
        amount = service.parse_amount(request.POST.get("amount", ""))
        service.pay_merchant(merchant, payee, amount, _client_id(request.POST.get("transfer_id", "")))
    except Refused as refused:
        messages.error(request, reason(refused.code))
        return redirect("currency_merchant", merchant_id=merchant.pk)
    messages.success(request, _("Paid %(amount)s yen to %(shop)s.") % {"amount": f"{amount:,}", "shop": payee.name})
    return redirect("currency_merchant", merchant_id=merchant.pk)


@require_GET
@member_required
def merchant_statement(request: HttpRequest, merchant_id: int) -> HttpResponse:
    merchant = _own_merchant(request, merchant_id)
    out = io.StringIO()
    csv.writer(out).writerows(service.statement_rows(merchant))
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="statement.csv"'
    return response


# -- the issuer's staff ---------------------------------------------------------------------------------------------


@staff_member_required
@require_http_methods(["GET", "POST"])
def issuer(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "approve":
            merchant = get_object_or_404(Merchant, pk=_int(request.POST.get("merchant", "")))
            service.approve_merchant(merchant)
            messages.success(request, _("Approved."))
        elif action == "settle":
            day = timezone.localdate()
            for merchant in Merchant.objects.filter(status=Merchant.APPROVED):
                service.settle(merchant, day)
            messages.success(request, _("Settled today's balances."))
        else:
            return HttpResponse(status=400)
        return redirect("currency_issuer")
    context = _context(
        request,
        waiting=Merchant.objects.filter(status=Merchant.PENDING),
        report=service.prepaid_report(),
        programmes=Programme.objects.order_by("pk"),
    )
    return render(request, "currency/issuer.html", context)


def _int(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 12:
        raise Http404("not found")
    return int(raw)


@staff_member_required
@require_GET
def analytics_page(request: HttpRequest) -> HttpResponse:
    charts = []
    for name, title in analytics.CHARTS.items():
        cells = [
            dataclasses.replace(cell, label=_(analytics.GROUP_LABELS[cell.label]))
            if cell.label in analytics.GROUP_LABELS
            else cell
            for cell in analytics.chart_cells(name)
        ]
        charts.append({"name": name, "title": _(title), "cells": cells})
    return render(request, "currency/analytics.html", _context(request, charts=charts, k=analytics.K))


@staff_member_required
@require_GET
def analytics_csv(request: HttpRequest, name: str) -> HttpResponse:
    if name not in analytics.CHARTS:
        raise Http404("no such chart")
    response = HttpResponse(analytics.as_csv(analytics.chart_cells(name)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@staff_member_required
@require_GET
def analytics_svg(request: HttpRequest, name: str) -> HttpResponse:
    """The chart drawn on the server (Vega-Lite through vl-convert): no script and no inline style on the page."""
    if name not in analytics.CHARTS:
        raise Http404("no such chart")
    return HttpResponse(analytics.svg(name, analytics.chart_cells(name)), content_type="image/svg+xml")
