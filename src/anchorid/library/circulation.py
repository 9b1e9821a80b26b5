"""Patrons and circulation as plain functions: registration from verified claims, licences, loans, renewals, holds
and the sweep the worker runs.

Concurrency: every change to a title's loans and holds runs in one transaction that first locks the patron's row
and then the title's row (``select_for_update``; SQLite's ``BEGIN IMMEDIATE`` serialises writers anyway), so the
last copy goes to exactly one borrower; the partial unique index ``library_one_reader_per_copy`` would refuse a
second active loan of a one-reader licence even if this code were wrong.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from anchorid.library import conf
from anchorid.library.models import (
    Budget,
    CardLinkCode,
    Category,
    CategoryGrant,
    CirculationRule,
    Hold,
    Licence,
    Loan,
    Notice,
    Patron,
    Title,
)

Code = TypeVar("Code", CategoryGrant, CardLinkCode)
ONE_COPY_LOANS = 52
ONE_COPY_YEARS = 2
CODE_DAYS = 14


class CirculationError(Exception):
    """A refusal with a code (for tests and JSON) and a message for the patron."""

    def __init__(self, code: str, message: object) -> None:
        super().__init__(code)
        self.code = code
        self.message = str(message)


class NotEligible(CirculationError):
    pass


class NotAvailable(CirculationError):
    """No copy is free now; ``hold_offered`` says whether the patron may place a hold instead."""

    def __init__(self, hold_offered: bool) -> None:
        super().__init__("not_available", gettext_lazy("All copies are on loan."))
        self.hold_offered = hold_offered


# -- patrons ---------------------------------------------------------------------------------------------------


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def _take_code(model: type[Code], code: str) -> Code | None:
    """The unused, unexpired code row matching ``code``, marked used (inside the caller's transaction)."""
    found = (
        model.objects.select_for_update()
        .filter(code_hash=_digest(code), used_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if found is not None:
        found.used_at = timezone.now()
        found.save(update_fields=["used_at"])
    return found


def new_card_number() -> str:
    """Ten digits: ``26``, seven random digits and a Luhn check digit (catches one mistyped digit at a counter)."""
    body = "26" + "".join(secrets.choice("0123456789") for _ in range(7))
    total = 0
    for i, digit in enumerate(reversed(body)):
        value = int(digit) * (2 if i % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return body + str((10 - total % 10) % 10)


def category_from_claims(claims: dict[str, object]) -> str | None:
    if claims.get("resident_of") == conf.city_code():
        return Category.RESIDENT
    return None


def register(sub: str, claims: dict[str, object], *, grant_code: str = "") -> Patron:
    """The patron for ``sub``: found, or created in one step when the verified claims (or a staff grant's code)
    give a category the city allows. Raises NotEligible with a message for the person."""
    existing = Patron.objects.filter(sub=sub).first()
    category = category_from_claims(claims)
    if existing is not None:
        if category and existing.category != category:
            existing.category = category
            existing.save(update_fields=["category"])
        return existing
    with transaction.atomic():
        if category is None and grant_code:
            grant = _take_code(CategoryGrant, grant_code)
            if grant is None:
                raise NotEligible("bad_code", gettext_lazy("This registration code is not valid or has expired."))
            category = grant.category
        if category is None:
            raise NotEligible(
                "not_resident",
                gettext_lazy(
                    "The e-library is for residents of the city. AnchorID says you live elsewhere. If you work or "
                    "study in the city, ask at the library counter for a registration code and enter it here."
                ),
            )
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    return Patron.objects.create(sub=sub, card_number=new_card_number(), category=category)
            except IntegrityError:
                found = Patron.objects.filter(sub=sub).first()
                if found is not None:
                    return found
    raise NotEligible("busy", gettext_lazy("Please try again."))


def issue_grant(category: str, *, days: int = CODE_DAYS) -> str:
    """Staff: a one-time registration code for a category the city allows (e.g. a commuter)."""
    if category not in Category.values or category == Category.RESIDENT:
        raise ValueError("not a category staff may grant")
    code = secrets.token_hex(5).upper()
    CategoryGrant.objects.create(
        code_hash=_digest(code), category=category, expires_at=timezone.now() + datetime.timedelta(days=days)
    )
    return code


def issue_card_link(card_number: str, *, days: int = CODE_DAYS) -> str:
    """Staff at the counter: a one-time code that links the physical card ``card_number`` to whoever enters it."""
    card = card_number.strip()
    if not card.isdigit() or not 6 <= len(card) <= 20:
        raise ValueError("a library card number is 6 to 20 digits")
    code = secrets.token_hex(5).upper()
    CardLinkCode.objects.create(
        code_hash=_digest(code), card_number=card, expires_at=timezone.now() + datetime.timedelta(days=days)
    )
    return code


def link_card(patron: Patron, code: str) -> str:
    with transaction.atomic():
        found = _take_code(CardLinkCode, code)
        if found is None:
            raise CirculationError("bad_code", gettext_lazy("This code is not valid or has expired."))
        Patron.objects.filter(pk=patron.pk).update(physical_card=found.card_number)
        patron.physical_card = found.card_number
        return found.card_number


def rule_for(category: str) -> CirculationRule:
    rule = CirculationRule.objects.filter(category=category).first()
    return rule or CirculationRule(category=category)


# -- licences --------------------------------------------------------------------------------------------------


def add_licence(
    title: Title,
    model: str,
    *,
    cost_yen: int = 0,
    max_loans: int | None = None,
    months: int | None = None,
    now: datetime.datetime | None = None,
) -> Licence:
    """Staff: buy a licence as vendors sell them. One-copy: 2 years or 52 loans; metered: ``max_loans`` and/or
    ``months``; simultaneous: no limit unless given; pay-per-use: ``cost_yen`` per loan from the budget."""
    start = now or timezone.now()
    expires: datetime.datetime | None = None
    if model == Licence.Model.ONE_COPY:
        max_loans = ONE_COPY_LOANS
        expires = start.replace(year=start.year + ONE_COPY_YEARS) if not (start.month == 2 and start.day == 29) else (
            start + datetime.timedelta(days=365 * ONE_COPY_YEARS)
        )  # fmt: skip
    elif model in (Licence.Model.METERED, Licence.Model.SIMULTANEOUS):
        if months:
            expires = start + datetime.timedelta(days=round(months * 30.44))
        if model == Licence.Model.METERED and not (max_loans or months):
            raise ValueError("a metered licence has a number of loans or months")
    elif model != Licence.Model.PAY_PER_USE:
        raise ValueError("unknown licence model")
    licence = Licence.objects.create(
        title=title, model=model, cost_yen=cost_yen, max_loans=max_loans, starts_at=start, expires_at=expires
    )
    offer_freed([title.pk])
    return licence


def _usable(now: datetime.datetime) -> Q:
    return (
        Q(retired_at__isnull=True, starts_at__lte=now)
        & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        & (Q(max_loans__isnull=True) | Q(max_loans__gt=F("loans_used")))
    )


def _retire(licence: Licence, reason: str, now: datetime.datetime) -> None:
    licence.retired_at, licence.retired_reason = now, reason
    licence.save(update_fields=["retired_at", "retired_reason", "loans_used"])


def repurchase_list() -> list[Licence]:
    """Licences that left the shelf (term or loans used up), newest first: what staff may buy again."""
    return list(Licence.objects.filter(retired_at__isnull=False).select_related("title").order_by("-retired_at"))


def expiry_forecast(days: int = 90, now: datetime.datetime | None = None) -> list[Licence]:
    """Licences on the shelf that end within ``days`` or have five loans or fewer left."""
    moment = now or timezone.now()
    return list(
        Licence.objects.filter(_usable(moment))
        .filter(Q(expires_at__lte=moment + datetime.timedelta(days=days)) | Q(max_loans__lte=F("loans_used") + 5))
        .select_related("title")
        .order_by("expires_at")
    )


# -- loans -----------------------------------------------------------------------------------------------------


@dataclass
class Availability:
    copies: int  # one-reader copies on the shelf
    free: int  # of them free for anybody (not on loan, not kept for a ready hold)
    unlimited: bool  # a simultaneous-use or pay-per-use licence serves everybody
    waiting: int  # holds in the queue


def availability(title: Title, now: datetime.datetime | None = None) -> Availability:
    moment = now or timezone.now()
    usable = Licence.objects.filter(title=title).filter(_usable(moment))
    exclusive = usable.filter(model__in=[Licence.Model.ONE_COPY, Licence.Model.METERED])
    copies = exclusive.count()
    on_loan = Loan.objects.filter(licence__in=exclusive, status=Loan.Status.ACTIVE, due_at__gt=moment).count()
    ready = Hold.objects.filter(title=title, status=Hold.Status.READY).count()
    unlimited = _unlimited_licence(title, moment) is not None
    waiting = Hold.objects.filter(title=title, status=Hold.Status.WAITING).count()
    return Availability(copies, max(copies - on_loan - ready, 0), unlimited, waiting)


def _unlimited_licence(title: Title, now: datetime.datetime) -> Licence | None:
    for licence in Licence.objects.filter(title=title, model=Licence.Model.SIMULTANEOUS).filter(_usable(now)):
        return licence
    budget = Budget.objects.first()
    for licence in Licence.objects.filter(title=title, model=Licence.Model.PAY_PER_USE).filter(_usable(now)):
        if budget is not None and budget.remaining_yen >= licence.cost_yen:
            return licence
    return None


def _locked_title(title_id: int) -> Title:
    try:
        return Title.objects.select_for_update().get(pk=title_id)
    except (Title.DoesNotExist, ValueError, TypeError):
        raise CirculationError("no_title", gettext_lazy("There is no such title.")) from None


def _end_due_loans(loans: Iterable[Loan], now: datetime.datetime) -> set[int]:
    titles = set()
    for loan in loans:
        loan.status, loan.ended_at = Loan.Status.ENDED, loan.due_at
        loan.save(update_fields=["status", "ended_at"])
        titles.add(loan.title_id)
    return titles


def borrow(patron: Patron, title_id: int, now: datetime.datetime | None = None) -> Loan:
    """Borrow a copy now. Raises NotAvailable (with a hold offered when the patron may hold) or CirculationError."""
    moment = now or timezone.now()
    with transaction.atomic():
        patron = Patron.objects.select_for_update().get(pk=patron.pk)
        title = _locked_title(title_id)
        _end_due_loans(
            Loan.objects.filter(title=title, status=Loan.Status.ACTIVE, due_at__lte=moment).select_for_update(),
            moment,
        )
        _end_due_loans(
            Loan.objects.filter(patron=patron, status=Loan.Status.ACTIVE, due_at__lte=moment).select_for_update(),
            moment,
        )
        rule = rule_for(patron.category)
        if Loan.objects.filter(patron=patron, title=title, status=Loan.Status.ACTIVE).exists():
            raise CirculationError("already_on_loan", gettext_lazy("You are already borrowing this title."))
        if Loan.objects.filter(patron=patron, status=Loan.Status.ACTIVE).count() >= rule.max_loans:
            raise CirculationError(
                "loan_limit", gettext_lazy("You have reached your loan limit. Return a title to borrow another.")
            )
        own_hold = Hold.objects.filter(patron=patron, title=title, status=Hold.Status.READY).first()
        licence = _choose_licence(title, moment, reserved_for_patron=own_hold is not None)
        if licence is None:
            holds = Hold.objects.filter(patron=patron, status__in=[Hold.Status.WAITING, Hold.Status.READY])
            may_hold = holds.count() < rule.max_holds and not holds.filter(title=title).exists()
            raise NotAvailable(hold_offered=may_hold)
        cost = 0
        if licence.model == Licence.Model.PAY_PER_USE:
            budget = Budget.objects.select_for_update().first()
            if budget is None or budget.remaining_yen < licence.cost_yen:
                raise NotAvailable(hold_offered=False)
            cost = licence.cost_yen
            budget.remaining_yen -= cost
            budget.spent_yen += cost
            budget.save(update_fields=["remaining_yen", "spent_yen"])
        due = moment + datetime.timedelta(days=rule.loan_days)
        if licence.expires_at is not None:
            due = min(due, licence.expires_at)
        loan = Loan.objects.create(
            patron=patron, title=title, licence=licence, exclusive=licence.exclusive, category=patron.category,
            started_at=moment, due_at=due, cost_yen=cost,
        )  # fmt: skip
        licence.loans_used += 1
        if licence.max_loans is not None and licence.loans_used >= licence.max_loans:
            _retire(licence, "loans", moment)  # the loan just made runs its course; no further one
        else:
            licence.save(update_fields=["loans_used"])
        if own_hold is not None:
            own_hold.status = Hold.Status.FULFILLED
            own_hold.save(update_fields=["status"])
        Hold.objects.filter(patron=patron, title=title, status=Hold.Status.WAITING).update(status=Hold.Status.FULFILLED)
        return loan


def _choose_licence(title: Title, now: datetime.datetime, *, reserved_for_patron: bool) -> Licence | None:
    usable = Licence.objects.filter(title=title).filter(_usable(now)).select_for_update()
    busy = Loan.objects.filter(title=title, status=Loan.Status.ACTIVE, exclusive=True).values("licence_id")
    free = list(
        usable.filter(model__in=[Licence.Model.ONE_COPY, Licence.Model.METERED])
        .exclude(id__in=busy)
        .order_by(F("expires_at").asc(nulls_last=True), "id")
    )
    kept = Hold.objects.filter(title=title, status=Hold.Status.READY).count() - (1 if reserved_for_patron else 0)
    if len(free) > kept:
        return free[0]
    return _unlimited_licence(title, now)


def return_loan(patron: Patron, loan_id: int, now: datetime.datetime | None = None) -> Loan:
    moment = now or timezone.now()
    with transaction.atomic():
        loan = _own_active_loan(patron, loan_id)
        loan.status, loan.ended_at = Loan.Status.RETURNED, moment
        loan.save(update_fields=["status", "ended_at"])
    offer_freed([loan.title_id], moment)
    return loan


def _own_active_loan(patron: Patron, loan_id: int) -> Loan:
    loan = (
        Loan.objects.select_for_update()
        .filter(pk=loan_id, patron=patron, status=Loan.Status.ACTIVE)
        .select_related("licence")
        .first()
    )
    if loan is None:
        raise CirculationError("no_loan", gettext_lazy("You have no such loan."))
    return loan


def renew(patron: Patron, loan_id: int, now: datetime.datetime | None = None) -> Loan:
    moment = now or timezone.now()
    with transaction.atomic():
        loan = _own_active_loan(patron, loan_id)
        if loan.due_at <= moment:
            raise CirculationError("no_loan", gettext_lazy("You have no such loan."))
        rule = rule_for(patron.category)
        if loan.renewals >= rule.renewals:
            raise CirculationError("renewal_limit", gettext_lazy("This loan cannot be renewed again."))
        others = Hold.objects.filter(title_id=loan.title_id, status__in=[Hold.Status.WAITING, Hold.Status.READY])
        if others.exclude(patron=patron).exists():
            raise CirculationError("held", gettext_lazy("Someone is waiting for this title, so it cannot be renewed."))
        due = moment + datetime.timedelta(days=rule.loan_days)
        if loan.licence.expires_at is not None:
            due = min(due, loan.licence.expires_at)
        loan.due_at, loan.renewals = due, loan.renewals + 1
        loan.save(update_fields=["due_at", "renewals"])
        return loan


# -- holds -----------------------------------------------------------------------------------------------------


def place_hold(patron: Patron, title_id: int) -> Hold:
    with transaction.atomic():
        patron = Patron.objects.select_for_update().get(pk=patron.pk)
        title = _locked_title(title_id)
        rule = rule_for(patron.category)
        open_holds = Hold.objects.filter(patron=patron, status__in=[Hold.Status.WAITING, Hold.Status.READY])
        if open_holds.filter(title=title).exists():
            raise CirculationError("already_held", gettext_lazy("You already hold this title."))
        if Loan.objects.filter(patron=patron, title=title, status=Loan.Status.ACTIVE).exists():
            raise CirculationError("already_on_loan", gettext_lazy("You are already borrowing this title."))
        if open_holds.count() >= rule.max_holds:
            raise CirculationError("hold_limit", gettext_lazy("You have reached your hold limit."))
        if not Licence.objects.filter(title=title).filter(_usable(timezone.now())).exists():
            raise CirculationError("no_licence", gettext_lazy("The library has no licence for this title now."))
        hold = Hold.objects.create(patron=patron, title=title)
    offer_freed([title.pk])
    hold.refresh_from_db()
    return hold


def cancel_hold(patron: Patron, hold_id: int) -> None:
    with transaction.atomic():
        hold = (
            Hold.objects.select_for_update()
            .filter(pk=hold_id, patron=patron, status__in=[Hold.Status.WAITING, Hold.Status.READY])
            .first()
        )
        if hold is None:
            raise CirculationError("no_hold", gettext_lazy("You have no such hold."))
        hold.status = Hold.Status.CANCELLED
        hold.save(update_fields=["status"])
    offer_freed([hold.title_id])


def offer_freed(title_ids: Iterable[int], now: datetime.datetime | None = None) -> int:
    """Give each free copy of these titles to the next waiting hold for its pickup days, with a notice. Returns how
    many holds became ready."""
    moment = now or timezone.now()
    offered = 0
    for title_id in sorted(set(title_ids)):
        with transaction.atomic():
            title = Title.objects.select_for_update().filter(pk=title_id).first()
            if title is None:
                continue
            state = availability(title, moment)
            free = state.free
            for hold in Hold.objects.filter(title=title, status=Hold.Status.WAITING).order_by("placed_at", "id"):
                if free <= 0:
                    break
                rule = rule_for(hold.patron.category)
                hold.status = Hold.Status.READY
                hold.ready_until = moment + datetime.timedelta(days=rule.pickup_days)
                hold.save(update_fields=["status", "ready_until"])
                notify(hold.patron, Notice.Kind.HOLD_READY, title, until=hold.ready_until)
                free -= 1
                offered += 1
    return offered


# -- the worker's sweep ----------------------------------------------------------------------------------------


def sweep(now: datetime.datetime | None = None) -> dict[str, int]:
    """End due loans, expire uncollected holds, retire licences past their term, then offer freed copies."""
    moment = now or timezone.now()
    touched: set[int] = set()
    with transaction.atomic():
        due = list(Loan.objects.select_for_update().filter(status=Loan.Status.ACTIVE, due_at__lte=moment))
        touched |= _end_due_loans(due, moment)
        for loan in due:
            notify(loan.patron, Notice.Kind.LOAN_ENDED, loan.title)
        stale = list(Hold.objects.select_for_update().filter(status=Hold.Status.READY, ready_until__lte=moment))
        for hold in stale:
            hold.status = Hold.Status.EXPIRED
            hold.save(update_fields=["status"])
            notify(hold.patron, Notice.Kind.HOLD_EXPIRED, hold.title)
            touched.add(hold.title_id)
        ended = list(Licence.objects.select_for_update().filter(retired_at__isnull=True, expires_at__lte=moment))
        for licence in ended:
            _retire(licence, "term", moment)
    offered = offer_freed(touched, moment)
    return {"loans ended": len(due), "holds expired": len(stale), "licences retired": len(ended), "offered": offered}


# -- notices ---------------------------------------------------------------------------------------------------


def notify(patron: Patron, kind: str, title: Title, *, until: datetime.datetime | None = None) -> None:
    """An in-app notice, and an e-mail when the patron gave an address (Japanese, then English)."""
    Notice.objects.create(patron=patron, kind=kind, title=title, until=until)
    if not patron.email:
        return
    lines = []
    for language in ("ja", "en"):
        with translation.override(language):
            lines.append(f"{Notice.Kind(kind).label}: {title.title}")
            if until is not None:
                lines.append(
                    _("Borrow it by %(date)s.") % {"date": timezone.localtime(until).strftime("%Y-%m-%d %H:%M")}
                )
            lines.append("")
    with translation.override("ja"):
        subject = f"[電子図書館] {Notice.Kind(kind).label}"
    transaction.on_commit(lambda: send_mail(subject, "\n".join(lines), None, [patron.email], fail_silently=True))
