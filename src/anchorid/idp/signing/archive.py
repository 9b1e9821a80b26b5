"""Archive renewal on its own: the idp keeps every signed PDF in the archive folder verifiable offline.

A PAdES B-LTA file verifies offline until its *offline horizon* (``anchorid.signing.horizon``): the end of the
newest document timestamp's TSA certificate or of that certificate's CRL it carries, whichever comes
first. Before that, a
new document timestamp with fresh validation data (ETSI EN 319 142-1 §5.5; ``pdf.async_extend_pdf``) moves the
horizon to the current TSA certificate's end. This module does that for every ``*.pdf`` under
``ANCHORID_SIGNING_ARCHIVE_DIR`` (recursively), in the job runner of ``anchorid serve idp``:

- ``ANCHORID_SIGNING_ARCHIVE_DIR``: the folder (unset or empty: no renewal job);
- ``ANCHORID_SIGNING_RENEW_BEFORE_DAYS``: renew a file when its horizon is less than this far (default 365);
- ``ANCHORID_SIGNING_RENEWAL_INTERVAL``: seconds between runs (default 86400; 0 turns the job off).

The job (``signing-archive``) runs under the job runner's lease (``lifecycle.jobs``): one runner at a time across
processes, schedule and failures kept in the database. A run that leaves a file it should have renewed — the file
is broken, or the current TSA certificate (or root CRL) would not move its horizon past the margin, so the TSA
must be rotated (``anchorid idp tsa init --rotate``) — is recorded as failed and retried with backoff, and says
why in the log (counts and reasons; no file names, which may name residents). A renewal that would not extend
the horizon is not made: the files do not grow at every run.

Renewal is done in-process at an explicit time (``now``): the idp's own TSA stamps at that time and the TSA path
is validated at that time, which is how the tests move the clock years ahead without sleeping.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509

from anchorid.common import config
from anchorid.idp.deviceca import crl as deviceca_crl
from anchorid.idp.deviceca.authority import CaError, now_utc, platform_certificate
from anchorid.idp.deviceca.models import PlatformCertificate
from anchorid.idp.signing import validation_data
from anchorid.idp.tsa.authority import TsaError, tsa_crls
from anchorid.idp.tsa.models import TsaCertificate
from anchorid.signing import documents, pdf
from anchorid.signing.errors import SigningError
from anchorid.signing.horizon import Horizon, offline_horizon
from anchorid.signing.revinfo import signing_context

log = logging.getLogger(__name__)
JOB = "signing-archive"
#: How often the background runner looks at the schedule (at most; less when the interval is shorter).
POLL_SECONDS = 30.0


def archive_dir() -> Path | None:
    value = config.SIGNING_ARCHIVE_DIR.configured()
    return Path(value) if value else None


def renew_before() -> timedelta:
    return timedelta(days=config.SIGNING_RENEW_BEFORE_DAYS.configured())


def renewal_interval() -> float:
    return config.SIGNING_RENEWAL_INTERVAL.configured()


class RenewalIncomplete(Exception):
    """A run left files it should have renewed (the message counts them and says why)."""


@dataclass
class RenewalReport:
    checked: int = 0
    renewed: list[Path] = field(default_factory=list)
    #: Files whose horizon is near but which the current TSA certificate / root CRL would not carry further.
    stuck: list[Path] = field(default_factory=list)
    #: (file, reason code) for files that could not be read or renewed.
    failed: list[tuple[Path, str]] = field(default_factory=list)
    #: What a renewal made now would reach.
    renewal_horizon: datetime | None = None

    @property
    def complete(self) -> bool:
        return not self.stuck and not self.failed

    def summary(self) -> str:
        reasons = Counter(code for _, code in self.failed)
        text = f"{self.checked} checked, {len(self.renewed)} renewed"
        if self.stuck:
            text += (
                f", {len(self.stuck)} not renewable: a renewal now would only reach {self.renewal_horizon} "
                "(rotate the TSA: anchorid idp tsa init --rotate, which also re-signs the root CRL)"
            )
        if self.failed:
            text += f", {len(self.failed)} failed (" + ", ".join(f"{c} {n}" for c, n in sorted(reasons.items())) + ")"
        return text

    def as_json(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "renewed": len(self.renewed),
            "stuck": len(self.stuck),
            "failed": len(self.failed),
            "renewal_horizon": self.renewal_horizon.isoformat() if self.renewal_horizon else None,
        }


def renewal_horizon(now: datetime) -> datetime:
    """The horizon a renewal made at ``now`` gives a file: the current TSA certificate's end, its CRL's nextUpdate
    (the root CRL's for a certificate without one) or the root's end, whichever comes first."""
    tsa = TsaCertificate.objects.filter(current=True).first()
    if tsa is None:
        raise TsaError("the time-stamp authority is not initialised: run `anchorid idp tsa init --data DIR`")
    root = platform_certificate(PlatformCertificate.Role.ROOT)
    crl = x509.load_der_x509_crl(bytes(tsa.crl_der) if tsa.crl_der is not None else deviceca_crl.root_crl())
    ends = [tsa.not_after, root.not_after]
    if crl.next_update_utc is not None:
        ends.append(crl.next_update_utc)
    return min(ends)


def _renewal_context(now: datetime) -> Any:
    """The TSA paths (every TSA certificate we ever had, the platform chain) and the root CRL, validated at ``now``
    without fetching: the idp holds all of it."""
    tsa_certificates = [x509.load_der_x509_certificate(bytes(row.der)) for row in TsaCertificate.objects.all()]
    platform = [
        x509.load_der_x509_certificate(bytes(row.der))
        for row in PlatformCertificate.objects.filter(role=PlatformCertificate.Role.ISSUING)
    ]
    return signing_context(
        validation_data.trust_roots(),
        other_certs=[*tsa_certificates, *platform],
        crls=[deviceca_crl.root_crl(), *tsa_crls()],
        allow_fetching=False,
        moment=now,
    )


def _horizon(path: Path) -> Horizon:
    with path.open("rb") as stream:
        return offline_horizon(documents.open_pdf(stream))


def renew_file(path: Path, *, now: datetime, context: Any = None) -> None:
    """A new document timestamp (at ``now``) and the last one's validation data on ``path``, replaced atomically
    (same permissions); on any error the file is left as it was."""
    from anchorid.idp.signing.service import LocalTimeStamper

    stamper = LocalTimeStamper(now=now)
    context = context or _renewal_context(now)
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False)  # noqa: SIM115
    temporary = Path(handle.name)
    try:
        with path.open("rb") as source:
            asyncio.run(pdf.async_extend_pdf(source, handle, stamper=stamper, context=context))
        handle.close()
        os.chmod(temporary, stat.S_IMODE(path.stat().st_mode))
        temporary.replace(path)
    except BaseException:
        handle.close()
        temporary.unlink(missing_ok=True)
        raise


def _pdf_files(directory: Path) -> list[Path]:
    return sorted(
        p for p in directory.rglob("*") if p.suffix.lower() == ".pdf" and p.is_file() and not p.name.startswith(".")
    )


def renew_archive(directory: Path | None = None, *, now: datetime | None = None) -> RenewalReport:
    """Renew every PDF under ``directory`` (default ``ANCHORID_SIGNING_ARCHIVE_DIR``) whose offline horizon is
    within ``renew_before()`` of ``now`` (default: the clock), when a renewal moves it further."""
    directory = directory or archive_dir()
    report = RenewalReport()
    if directory is None or not directory.is_dir():
        return report
    now = now or now_utc()
    margin = renew_before()
    report.renewal_horizon = renewal_horizon(now)
    context = None
    for path in _pdf_files(directory):
        report.checked += 1
        try:
            horizon = _horizon(path)
            if horizon.until is not None and horizon.until - now >= margin:
                continue
            if horizon.until is not None and report.renewal_horizon <= horizon.until:
                report.stuck.append(path)
                continue
            context = context or _renewal_context(now)
            renew_file(path, now=now, context=context)
            report.renewed.append(path)
        except SigningError as error:
            report.failed.append((path, str(getattr(error, "code", "signing_failed"))))
        except (OSError, ValueError) as error:
            report.failed.append((path, error.__class__.__name__))
    if report.stuck and report.renewal_horizon - now < margin:
        log.error("signing archive: %s", report.summary())
    return report


def renewal_work(*, now: datetime | None = None) -> Any:
    """The job's work: renew the archive; a run that leaves files behind fails (the job runner retries it)."""

    def work() -> dict[str, Any]:
        report = renew_archive(now=now)
        if not report.complete:
            raise RenewalIncomplete(report.summary())
        return report.as_json()

    return work


def scheduled_renewal(owner: str) -> Callable[[], bool]:
    """The ``signing-archive`` job of the idp's worker: every worker calls it every ``POLL_SECONDS``; the renewal
    runs when due under its job's lease (``lifecycle.jobs``)."""
    from anchorid.common.worker.registry import JobFailed
    from anchorid.idp.lifecycle.jobs import run_job

    def work() -> bool:
        try:
            result = run_job(JOB, renewal_work(), owner=owner, interval=renewal_interval())
        except (CaError, TsaError) as error:
            log.error("signing archive renewal cannot run: %s", error)
            raise
        if result is not None and not result.ok:
            raise JobFailed(result.error)
        if result is not None:
            log.info("signing archive renewal done: %s", result.value)
        return False

    return work
