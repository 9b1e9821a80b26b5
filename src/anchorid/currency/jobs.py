"""The currency's background job (``anchorid worker currency``), under its lease:

- ``currency-expiry`` (``ANCHORID_CURRENCY_JOB_SECONDS``, default 60; 0 off): void payments authorised but neither
  captured nor voided within their timeout, move expired lots to the expiry account, and write a notice to each
  member whose coins expire within 30 days (once per lot). Idempotent: ``anchorid currency run-jobs`` does the same.
"""

from __future__ import annotations

import logging

from anchorid.common import config
from anchorid.common.worker.registry import Job

log = logging.getLogger(__name__)


def run_expiry() -> dict[str, int]:
    from django.db import IntegrityError, transaction

    from anchorid.currency.ledger import service as ledger
    from anchorid.currency.ledger.models import Lot, Transfer
    from anchorid.currency.models import Member, Notice, Payment
    from anchorid.currency.service import system_account

    voided = ledger.expire_pending()
    if voided:
        expired_ids = Transfer.objects.filter(state="expired").values_list("id", flat=True)
        Payment.objects.filter(state=Payment.AUTHORISED, pk__in=expired_ids).update(state=Payment.VOIDED)
    run = ledger.expire_lots(system_account("expiry").pk)
    notices = 0
    for lot in Lot.objects.filter(pk__in=run.noticed_lots):
        member = Member.objects.filter(account_id=lot.account_id).first()
        if member is None:
            continue
        try:
            with transaction.atomic():
                Notice.objects.create(member=member, lot_id=lot.pk, amount=lot.remaining, expires_at=lot.expires_at)
                notices += 1
        except IntegrityError:
            pass
    summary = {"payments_voided": voided, "lots_expired": run.expired_lots, "yen_expired": run.expired_yen}
    summary["notices"] = notices
    if any(summary.values()):
        log.info("currency expiry: %s", summary)
    return summary


def jobs() -> list[Job]:
    return [Job("currency-expiry", config.CURRENCY_JOB_SECONDS.value(), run_expiry)]
