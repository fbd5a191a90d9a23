"""Why a Kafka client cannot connect, in one line a person can act on.

kafka-python retries every failed bootstrap until its timeout and then reports
only "Unable to bootstrap": a wrong CA, an expired certificate, TLS spoken to a
plaintext port and a wrong password all look alike. So before the job's clients
start, `probe_broker` opens one connection to a bootstrap server itself -- TCP,
then TLS with the very context kafka-python would build from the same settings,
then one ApiVersions request -- and names what failed. Problems that cannot heal
by waiting (certificates, protocol mismatch, credentials) are reported at once;
only an unreachable broker is worth waiting for (`Problem.can_heal`).

`explain_client_log` classifies what kafka-python logged while bootstrapping,
for what only the client sees (SASL outcomes). No secret is ever part of a
message: only hosts, file names, user names and mechanism names are.
"""

from __future__ import annotations

import logging
import socket
import ssl
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsbeam.transforms.io.kafka.secrets import describe_value

# OpenSSL X509_V_ERR_* codes Python's ssl reports in SSLCertVerificationError.
_EXPIRED = 10
_NOT_YET_VALID = 9
_UNKNOWN_ISSUER = {2, 18, 19, 20, 21}  # self-signed, unable to get issuer, ...
_HOSTNAME_MISMATCH = {62, 64}  # host name, IP address
# Kafka ApiVersions v0: the one request every broker answers before authentication.
_API_VERSIONS = 18


@dataclass(frozen=True)
class Problem:
    """What stops a client from talking to a broker; `can_heal`: worth retrying."""

    message: str
    can_heal: bool


def ssl_context(options: Mapping[str, Any]) -> ssl.SSLContext:
    """The SSLContext kafka-python (3.x, net/transport.py) builds from these settings.

    Raises ssl.SSLError / OSError when a CA, certificate or key file cannot be loaded.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = options.get("ssl_check_hostname", True)
    if options.get("ssl_cafile"):
        context.load_verify_locations(options["ssl_cafile"])
    else:
        context.load_default_certs()
    if options.get("ssl_certfile"):
        context.load_cert_chain(
            certfile=options["ssl_certfile"],
            keyfile=options.get("ssl_keyfile"),
            password=options.get("ssl_password"),
        )
    if options.get("ssl_crlfile"):
        context.load_verify_locations(crl=options["ssl_crlfile"])
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return context


def check_client_files(options: Mapping[str, Any]) -> Problem | None:
    """The CA / certificate / key files load (else kafka-python fails with a traceback,
    or -- an encrypted key without ssl.key.password -- OpenSSL prompts on the terminal)."""
    if not options.get("security_protocol", "PLAINTEXT").endswith("SSL"):
        return None
    # A callable password is only asked for an encrypted key; "" then fails instead of
    # prompting.
    checked = dict(options)
    checked["ssl_password"] = options.get("ssl_password") or (lambda: "")
    try:
        ssl_context(checked)
    except ssl.SSLError as exc:
        if _key_is_encrypted(options.get("ssl_keyfile") or options.get("ssl_certfile")):
            what = "the private key could not be decrypted: wrong or missing ssl.key.password"
        elif exc.reason == "KEY_VALUES_MISMATCH":
            what = "ssl.key.location does not belong to ssl.certificate.location"
        else:
            what = f"cannot load the CA, certificate or key file ({exc.reason or exc})"
        return Problem(f"TLS settings: {what}", can_heal=False)
    except OSError as exc:
        return Problem(f"TLS settings: {exc.filename or 'a file'}: {exc.strerror}", False)
    return None


def _key_is_encrypted(path: str | None) -> bool:
    try:
        text = Path(path).read_text(encoding="ascii", errors="replace") if path else ""
    except OSError:
        return False
    return "ENCRYPTED PRIVATE KEY" in text or "Proc-Type: 4,ENCRYPTED" in text


def probe_broker(
    host: str, port: int, options: Mapping[str, Any], *, timeout: float = 5.0
) -> Problem | None:
    """One connection to host:port as the settings say; None if Kafka answered."""
    where = f"{host}:{port}"
    protocol = options.get("security_protocol", "PLAINTEXT")
    problem = check_client_files(options)
    if problem is not None:
        return problem
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        return Problem(f"cannot connect to Kafka at {where}: {reason}", can_heal=True)
    try:
        raw.settimeout(timeout)
        if protocol.endswith("SSL"):
            return _probe_tls(raw, host, where, options)
        return _probe_plaintext(raw, host, port, where, protocol, timeout)
    finally:
        raw.close()


def _probe_tls(
    raw: socket.socket, host: str, where: str, options: Mapping[str, Any]
) -> Problem | None:
    protocol = options.get("security_protocol")
    try:
        tls = ssl_context(options).wrap_socket(raw, server_hostname=host)
    except ssl.SSLCertVerificationError as exc:
        return Problem(_certificate_message(exc, where, options), can_heal=False)
    except ssl.SSLError as exc:
        return _tls_error(exc, where, protocol, options)
    except (TimeoutError, ConnectionError, OSError) as exc:
        return _no_tls_here(where, protocol, exc)
    try:
        answered = _api_versions(tls)
    except ssl.SSLError as exc:  # TLS 1.3: a refused client certificate shows up here
        return _tls_error(exc, where, protocol, options)
    except (TimeoutError, OSError):
        answered = False
    finally:
        tls.close()
    if not answered:
        wanted = (
            "it refused the client certificate "
            f"({options.get('ssl_certfile')}) or requires SASL (security.protocol=SASL_SSL)"
            if options.get("ssl_certfile")
            else "it requires a client certificate (set ssl.certificate.location and "
            "ssl.key.location) or SASL (security.protocol=SASL_SSL)"
        )
        return Problem(
            f"Kafka at {where} closed the TLS connection without answering: {wanted}",
            can_heal=False,
        )
    return None


def _probe_plaintext(
    raw: socket.socket, host: str, port: int, where: str, protocol: str, timeout: float
) -> Problem | None:
    try:
        answered = _api_versions(raw)
    except (TimeoutError, OSError):
        answered = False
    if answered:
        return None
    if _speaks_tls(host, port, timeout):
        tls_protocol = "SASL_SSL" if protocol == "SASL_PLAINTEXT" else "SSL"
        return Problem(
            f"Kafka at {where} expects TLS but security.protocol={protocol}: "
            f"set security.protocol={tls_protocol} (and ssl.ca.location)",
            can_heal=False,
        )
    return Problem(
        f"Kafka at {where} closed the connection without answering: it may require SASL "
        "(security.protocol=SASL_SSL or SASL_PLAINTEXT) or is not a Kafka listener",
        can_heal=False,
    )


def _certificate_message(
    exc: ssl.SSLCertVerificationError, where: str, options: Mapping[str, Any]
) -> str:
    code = exc.verify_code
    cafile = options.get("ssl_cafile")
    if code == _EXPIRED:
        return (
            f"the TLS certificate of Kafka at {where} has expired: the broker's operator must "
            "renew it (check the clocks too)"
        )
    if code == _NOT_YET_VALID:
        return f"the TLS certificate of Kafka at {where} is not valid yet: check the clocks"
    if code in _UNKNOWN_ISSUER:
        trusted = f"the CA in {cafile}" if cafile else "the system's CAs (no ssl.ca.location)"
        return (
            f"the TLS certificate of Kafka at {where} is not signed by {trusted}: "
            "set ssl.ca.location to the cluster's CA certificate"
        )
    if code in _HOSTNAME_MISMATCH:
        return (
            f"the TLS certificate of Kafka at {where} is not issued for {where.rsplit(':', 1)[0]}"
            ": connect with a name the certificate lists (or, only if you must, "
            "ssl.endpoint.identification.algorithm= to skip the check)"
        )
    return f"the TLS certificate of Kafka at {where} was refused: {exc.verify_message}"


def _tls_error(
    exc: ssl.SSLError, where: str, protocol: str | None, options: Mapping[str, Any]
) -> Problem:
    reason = (exc.reason or "").upper()
    if reason in (
        "WRONG_VERSION_NUMBER",
        "RECORD_LAYER_FAILURE",
        "PACKET_LENGTH_TOO_LONG",
        "UNEXPECTED_EOF_WHILE_READING",
        "HTTP_REQUEST",
    ) or isinstance(exc, ssl.SSLEOFError):
        return _no_tls_here(where, protocol, exc)
    if "CERTIFICATE_REQUIRED" in reason or (
        "HANDSHAKE_FAILURE" in reason and not options.get("ssl_certfile")
    ):
        return Problem(
            f"Kafka at {where} requires a client certificate (mutual TLS): set "
            "ssl.certificate.location and ssl.key.location",
            can_heal=False,
        )
    if any(
        word in reason
        for word in (
            "BAD_CERTIFICATE",
            "UNKNOWN_CA",
            "CERTIFICATE_EXPIRED",
            "CERTIFICATE_UNKNOWN",
            "DECRYPT_ERROR",
        )
    ):
        return Problem(
            f"Kafka at {where} refused the client certificate "
            f"({options.get('ssl_certfile')}): {reason.lower().replace('_', ' ')}",
            can_heal=False,
        )
    return Problem(f"TLS with Kafka at {where} failed: {reason or exc}", can_heal=False)


def _no_tls_here(where: str, protocol: str | None, exc: BaseException) -> Problem:
    plain = "SASL_PLAINTEXT" if protocol == "SASL_SSL" else "PLAINTEXT"
    return Problem(
        f"Kafka at {where} does not speak TLS on this port (security.protocol={protocol}): "
        f"use the broker's TLS listener, or security.protocol={plain} if this one is meant",
        can_heal=False,
    )


def _api_versions(sock: socket.socket) -> bool:
    """Send ApiVersions v0 and read the answer's header; True if it is Kafka's."""
    client_id = b"newsbeam-probe"
    body = struct.pack(">hhih", _API_VERSIONS, 0, 1, len(client_id)) + client_id
    sock.sendall(struct.pack(">i", len(body)) + body)
    header = _read(sock, 8)
    if header is None:
        return False
    size, correlation = struct.unpack(">ii", header)
    return correlation == 1 and 0 < size < 1 << 20


def _read(sock: socket.socket, count: int) -> bytes | None:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _speaks_tls(host: str, port: int, timeout: float) -> bool:
    """Does host:port complete (or answer) a TLS handshake? Verification off: this
    only tells a TLS listener from a plaintext one."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            raw.settimeout(timeout)
            with context.wrap_socket(raw, server_hostname=host):
                return True
    except ssl.SSLError as exc:
        # An alert from the server is TLS too (e.g. it wants a client certificate).
        return "ALERT" in (exc.reason or "").upper()
    except OSError:
        return False


def bootstrap_addresses(servers: str) -> list[tuple[str, int]]:
    """ "host:port,host:port" -> [(host, port)] (IPv6 in brackets)."""
    addresses = []
    for server in servers.split(","):
        server = server.strip()
        if not server:
            continue
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"{server!r} is not HOST:PORT")
        addresses.append((host.strip("[]"), int(port)))
    return addresses


def explain_client_log(
    records: Iterable[logging.LogRecord], options: Mapping[str, Any], where: str
) -> Problem | None:
    """kafka-python's log during a failed bootstrap -> the SASL problem it shows, if any."""
    mechanism = options.get("sasl_mechanism")
    user = options.get("sasl_plain_username")
    for record in records:
        errors = [a for a in (record.args or ()) if isinstance(a, BaseException)]
        text = record.getMessage()
        names = {type(e).__name__ for e in errors}
        if "UnsupportedSaslMechanismError" in names or "UnsupportedSaslMechanism" in text:
            return Problem(
                f"Kafka at {where} does not enable SASL mechanism {mechanism}: "
                "ask for the mechanisms it offers and set sasl.mechanism",
                can_heal=False,
            )
        # A broker refusing the credentials answers SaslAuthenticate with an error;
        # for SCRAM it can also put `e=invalid-proof`/`e=unknown-user` in the
        # server-final message, where kafka-python 3.0 expects `v=` (KeyError 'v').
        refused = "SaslAuthenticationFailedError" in names or any(
            isinstance(e, KeyError) and e.args == ("v",) for e in errors
        )
        if refused and mechanism:
            return Problem(
                f"Kafka at {where} refused SASL {mechanism} authentication for user "
                f"{describe_value(user)}: wrong user name or password "
                "(sasl.username / sasl.password)",
                can_heal=False,
            )
    return None
