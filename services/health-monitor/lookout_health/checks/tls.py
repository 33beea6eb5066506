"""Certificates: `tls` checks (a handshake and the certificate's dates) and the expiry
condition that `http` checks share. An expired certificate fails; one that expires
within `cert_expires_within_days` passes `degraded`."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

from lookout_health.checks.base import ProbeFailed, ProbeOutcome
from lookout_health.config import TlsCheck

# OpenSSL's X509_V_ERR_CERT_HAS_EXPIRED.
CERT_HAS_EXPIRED = 10


def not_after(certificate_der: bytes) -> datetime:
    """When the certificate (DER) stops being valid."""
    return x509.load_der_x509_certificate(certificate_der).not_valid_after_utc


def expiry_outcome(
    where: str, expires: datetime, within_days: float, now: datetime, message: str
) -> ProbeOutcome:
    """Fails when `expires` has passed, degraded within `within_days`, else `message`."""
    left = (expires - now).total_seconds() / 86400
    day = expires.date().isoformat()
    if left <= 0:
        raise ProbeFailed(f"certificate of {where} expired on {day}")
    if left <= within_days:
        return ProbeOutcome(
            f"{message} Certificate expires in {left:.1f} days ({day}), within {within_days:g}.",
            degraded=True,
        )
    return ProbeOutcome(f"{message} Certificate valid until {day}.")


def client_context(ca_file: Path | None, verify: bool = True) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def expired_in_handshake(error: BaseException) -> bool:
    """Whether `error` (or what it wraps) is OpenSSL refusing an expired certificate."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen.verify_code == CERT_HAS_EXPIRED
        seen = seen.__cause__ or seen.__context__
    return False


async def _handshake(check: TlsCheck, context: ssl.SSLContext) -> bytes:
    server_name = check.server_name or check.host
    _, writer = await asyncio.open_connection(
        check.host, check.port, ssl=context, server_hostname=server_name
    )
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()
    if der is None:
        raise ProbeFailed(f"{check.host}:{check.port} sent no certificate")
    return bytes(der)


async def run_tls(check: TlsCheck) -> ProbeOutcome:
    where = f"{check.server_name or check.host}:{check.port}"
    try:
        der = await _handshake(check, client_context(check.ca_file, check.verify))
    except ssl.SSLCertVerificationError as error:
        if error.verify_code != CERT_HAS_EXPIRED:
            raise ProbeFailed(
                f"certificate of {where} not trusted: {error.verify_message}"
            ) from None
        # Read the certificate again without verifying, to say when it expired.
        der = await _handshake(check, client_context(None, verify=False))
    return expiry_outcome(
        where,
        not_after(der),
        check.cert_expires_within_days,
        datetime.now(UTC),
        f"TLS handshake with {where} succeeded.",
    )
