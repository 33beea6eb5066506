"""Self-signed certificates made in the test, for real local TLS servers."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path
    not_after: datetime

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def self_signed(
    directory: Path, name: str, *, not_before: datetime, not_after: datetime
) -> Certificate:
    """A certificate for `localhost` and 127.0.0.1 valid from `not_before` to `not_after`
    (either may be in the past), signed by its own key: trust it with its own file."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / f"{name}.crt"
    key_file = directory / f"{name}.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_file, key_file, not_after)


def valid_for(directory: Path, name: str, days: float) -> Certificate:
    """Valid since yesterday for `days` more days (negative: expired that long ago)."""
    now = datetime.now(UTC)
    if days > 0:
        return self_signed(
            directory,
            name,
            not_before=now - timedelta(days=1),
            not_after=now + timedelta(days=days),
        )
    return self_signed(
        directory,
        name,
        not_before=now - timedelta(days=30),
        not_after=now + timedelta(days=days),
    )
