"""The bulk sweep: jlis's signature CRL fetched once, every current anchor checked against it in one pass.

1. fetch ``/crl/sign.crl`` (``jlis_client.fetch_crl``) and check it (``revocation_list``): signer, freshness,
   number. Any failure -- jlis unreachable, garbage, a foreign signer, a stale CRL -- fails the sweep *before*
   anything is changed; the run is recorded as failed and the job runner retries it with backoff;
2. stream ``(id, serial)`` of the current anchors still marked good, issued by the CRL's CA, and test each serial
   against the set of revoked serials (decimal strings, as stored: no conversion per row, no OCSP per account);
3. anchors on hold are re-checked (released, or revoked for another reason since);
4. anchors past notAfter are expired (J-LIS drops expired certificates from its CRL, RFC 5280 §3.3);
5. only the anchors that changed are written, in bulk, in batches (``marking.apply``);
6. accounts with a standing refresh consent are refreshed (``refresh.run_pending``); the others get a notice
   asking them to re-verify; withdrawals jlis has not acknowledged yet are sent again.

The sweep's own figures -- checked, newly revoked by reason, expired, refreshed, errors -- are returned and stored
on its ``SweepRun``. A login later trusts the CRL's thisUpdate as the anchor's last check (``jit``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Max, Q
from django.utils import timezone

from anchorid.idp import jlis_client, metrics
from anchorid.idp.accounts.models import AnchorCertificate
from anchorid.idp.lifecycle import conf, consent, marking, refresh
from anchorid.idp.lifecycle.models import SweepRun
from anchorid.idp.lifecycle.revocation_list import CrlRejected, RevocationList, load_revocation_list
from anchorid.jpki.profiles import CertKind
from anchorid.jpki.trust import TrustConfigurationError

log = logging.getLogger(__name__)
#: Anchors written per transaction (keeps the audit log's lock short).
BATCH = 900
#: Rows fetched per round trip while streaming the anchors.
CHUNK = 20000
#: ``auto`` streams every anchor past the CRL's set when the CRL is large compared with the anchors, and seeks each
#: CRL serial in the (issuer, serial) index when there are more than PROBE_RATIO anchors per CRL entry; ``stream``
#: and ``probe`` force one way (``ANCHORID_SWEEP_STRATEGY``; both give the same answer, see the tests).
STRATEGIES = ("auto", "stream", "probe")
PROBE_RATIO = 4
PROBE_CHUNK = 10000


class SweepFailed(Exception):
    """The sweep could not establish revocation status; nothing was marked. The message holds no personal data."""


@dataclass
class SweepSummary:
    run_id: int | None = None
    crl_number: int | None = None
    crl_entries: int = 0
    checked: int = 0
    newly_revoked: dict[str, int] = field(default_factory=dict)
    expired: int = 0
    holds_released: int = 0
    refreshed: int = 0
    reanchored: int = 0
    reverify_notices: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def highest_crl_number() -> int | None:
    value = SweepRun.objects.filter(status=SweepRun.Status.OK).aggregate(Max("crl_number"))["crl_number__max"]
    return int(value) if value is not None else None


def load_current_crl(now: datetime) -> RevocationList:
    """Fetch and check jlis's signature CRL; SweepFailed when it cannot be had or trusted."""
    try:
        der = jlis_client.fetch_crl(CertKind.SIGNATURE)
        roots = jlis_client.trust_anchors().signature
    except jlis_client.JlisUnavailable as error:
        raise SweepFailed(f"jlis unavailable: {error}") from None
    except TrustConfigurationError as error:
        raise SweepFailed(f"trust anchors unusable: {error}") from None
    try:
        return load_revocation_list(der, roots, now=now, highest_number_seen=highest_crl_number())
    except CrlRejected as error:
        raise SweepFailed(f"CRL rejected: {error}") from None


def find_changes(crl: RevocationList, now: datetime) -> tuple[int, list[marking.AnchorChange], list[int]]:
    """(anchors checked, changes to apply, held anchors to release) -- reads only, writes nothing.

    Two passes over the table, whatever its size, and no per-row work beyond a set lookup:

    1. the anchors of the CRL's issuer that the CRL lists: either ``(id, serial)`` of every such anchor streamed --
       exactly the columns of the unique index (issuer_fingerprint, serial), so SQLite answers from that covering
       index without touching the table -- each serial tested against the CRL's set; or, when there are many more
       anchors than CRL entries, each CRL serial sought in that index (``use_probes``). Only the anchors found (at
       most as many as the CRL has entries) are then read in full, by id, to see which are current and unmarked;
    2. one sequential scan for the rows whose state depends on time rather than on the CRL: current anchors past
       notAfter still marked good, and anchors on hold (released when the CRL no longer lists them).
    """
    entries = crl.entries
    mine = AnchorCertificate.objects.filter(issuer_fingerprint=crl.issuer_fingerprint)
    checked = mine.count()  # answered from the same covering index
    if use_probes(checked, len(entries)):
        listed = _listed_by_probes(crl)
    else:
        listed = [
            anchor_id
            for anchor_id, serial in mine.values_list("id", "serial").iterator(chunk_size=CHUNK)
            if serial in entries
        ]
    changes: list[marking.AnchorChange] = []
    for start in range(0, len(listed), BATCH):
        candidates = AnchorCertificate.objects.filter(
            pk__in=listed[start : start + BATCH], current=True, status=AnchorCertificate.Status.GOOD
        ).values_list("id", "serial")
        for anchor_id, serial in candidates:
            revocation = crl.revocation(serial)
            changes.append(marking.AnchorChange(anchor_id, revocation.reason, revocation.revoked_at))
    release: list[int] = []
    seen = {change.anchor_id for change in changes}
    timely = AnchorCertificate.objects.filter(
        Q(status=AnchorCertificate.Status.GOOD, not_after__lte=now)
        | Q(status=AnchorCertificate.Status.REVOKED, revocation_reason=marking.HOLD)
    ).values_list("id", "serial", "current", "status", "issuer_fingerprint", "not_after")
    for anchor_id, serial, current, status, issuer, not_after in timely:
        if not current or anchor_id in seen:
            continue
        if status == AnchorCertificate.Status.GOOD:
            changes.append(marking.AnchorChange(anchor_id, marking.EXPIRED, not_after))
        elif issuer == crl.issuer_fingerprint and serial not in entries:
            if not_after > now:
                release.append(anchor_id)
        elif issuer == crl.issuer_fingerprint:
            revocation = crl.revocation(serial)
            if revocation.reason != marking.HOLD:
                changes.append(marking.AnchorChange(anchor_id, revocation.reason, revocation.revoked_at))
    return checked, changes, release


def use_probes(anchors: int, entries: int) -> bool:
    """Probe the index with the CRL's serials instead of streaming every anchor when the CRL is much smaller."""
    try:
        strategy = conf.sweep_strategy()
    except ValueError:
        strategy = ""
    if strategy not in STRATEGIES:
        raise SweepFailed(f"ANCHORID_SWEEP_STRATEGY must be one of {', '.join(STRATEGIES)}")
    if strategy != "auto":
        return strategy == "probe"
    return anchors > PROBE_RATIO * entries


def _listed_by_probes(crl: RevocationList) -> list[int]:
    """Ids of the anchors of the CRL's issuer whose serial the CRL lists: index seeks, chunk by chunk."""
    serials = list(crl.entries)
    size = max(1, min(PROBE_CHUNK, (connection.features.max_query_params or PROBE_CHUNK) - 1))
    listed: list[int] = []
    for start in range(0, len(serials), size):
        listed += AnchorCertificate.objects.filter(
            issuer_fingerprint=crl.issuer_fingerprint, serial__in=serials[start : start + size]
        ).values_list("id", flat=True)
    return listed


def _apply(changes: list[marking.AnchorChange], now: datetime) -> dict[str, int]:
    counts: dict[str, int] = {}
    for start in range(0, len(changes), BATCH):
        for reason, count in marking.apply(changes[start : start + BATCH], detected_by="crl", now=now).items():
            counts[reason] = counts.get(reason, 0) + count
    return counts


def run_sweep(*, trigger: str = "manual", now: datetime | None = None) -> SweepSummary:
    """One sweep (module docstring). Raises SweepFailed -- recorded on the run -- when the CRL is unusable."""
    started = time.monotonic()
    try:
        summary = _sweep(trigger, now)
    except Exception:
        metrics.SWEEP_DURATION.labels("failed").observe(time.monotonic() - started)
        raise
    metrics.SWEEP_DURATION.labels("ok").observe(time.monotonic() - started)
    return summary


def _sweep(trigger: str, now: datetime | None) -> SweepSummary:
    now = now or timezone.now()
    run = SweepRun.objects.create(started_at=now, trigger=trigger)
    summary = SweepSummary(run_id=run.pk)
    try:
        crl = load_current_crl(now)
    except SweepFailed as error:
        SweepRun.objects.filter(pk=run.pk).update(
            status=SweepRun.Status.FAILED, finished_at=timezone.now(), error=str(error)[:500]
        )
        raise
    summary.crl_number, summary.crl_entries = crl.number, len(crl)
    try:
        summary.checked, changes, release = find_changes(crl, now)
        counts = _apply(changes, now)
        summary.expired = counts.pop(marking.EXPIRED, 0)
        summary.newly_revoked = counts
        summary.holds_released = marking.release_holds(release, now=now)
        moved = [c.anchor_id for c in changes if c.reason == marking.MOVED]
        moved_accounts = list(AnchorCertificate.objects.filter(pk__in=moved).values_list("account_id", flat=True))
        summary.reverify_notices = refresh.notify_without_consent(moved_accounts, now=now)
        outcome = refresh.run_pending(now=now)
        summary.refreshed, summary.reanchored = outcome.refreshed, outcome.reanchored
        summary.errors = dict(outcome.errors)
        for code, count in consent.retry_pending_withdrawals().items():
            summary.errors[code] = summary.errors.get(code, 0) + count
    except Exception as error:
        SweepRun.objects.filter(pk=run.pk).update(
            status=SweepRun.Status.FAILED,
            finished_at=timezone.now(),
            error=f"{error.__class__.__name__}"[:500],
            summary=summary.as_json(),
        )
        raise
    SweepRun.objects.filter(pk=run.pk).update(
        status=SweepRun.Status.OK,
        finished_at=timezone.now(),
        crl_number=crl.number,
        crl_issuer_fingerprint=crl.issuer_fingerprint,
        crl_this_update=crl.this_update,
        crl_next_update=crl.next_update,
        summary=summary.as_json(),
    )
    return summary


def last_successful_check(issuer_fingerprint: str) -> datetime | None:
    """thisUpdate of the newest successful sweep's CRL of this issuer: every anchor it saw good was good then."""
    run = (
        SweepRun.objects.filter(
            status=SweepRun.Status.OK, crl_this_update__isnull=False, crl_issuer_fingerprint=issuer_fingerprint
        )
        .order_by("-crl_this_update")
        .only("crl_this_update")
        .first()
    )
    return run.crl_this_update if run is not None else None
