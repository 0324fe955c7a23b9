"""relay.http.client over https: a local TLS upstream with a self-signed certificate made
here. verify_tls=False talks to it; the default refuses it. Runs on asyncio and on uvloop."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from http_kit import Run, answering, client, ok_response, stub

from relay.http.client import UpstreamError


@pytest.fixture(scope="module")
def server_tls(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    folder: Path = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


async def test_https_with_verification_off_works(run: Run, server_tls: ssl.SSLContext) -> None:
    async def body() -> None:
        reply = ok_response(b'{"secure": true}')
        async with stub(answering(reply), ssl_context=server_tls) as up:
            async with client(verify_tls=False) as http:
                for host in ("127.0.0.1", "localhost"):
                    for _ in range(2):
                        resp = await http.request("POST", f"https://{host}:{up.port}/v1", {}, b"q")
                        assert resp.status == 200 and await resp.read() == b'{"secure": true}'
                        resp.release()
            assert up.connections == 2  # one per host, reused
            head, sent = up.requests[0]
            assert head.startswith(b"POST /v1 HTTP/1.1\r\n") and sent == b"q"

    await run(body)


async def test_https_refuses_a_self_signed_certificate_by_default(
    run: Run, server_tls: ssl.SSLContext
) -> None:
    async def body() -> None:
        async with stub(answering(ok_response()), ssl_context=server_tls) as up, client() as http:
            with pytest.raises(ssl.SSLCertVerificationError, match=r"self.signed"):
                await http.request("GET", f"https://localhost:{up.port}/", {})
            assert not up.requests

    await run(body)


async def test_plain_http_to_a_tls_port_fails_cleanly(run: Run, server_tls: ssl.SSLContext) -> None:
    async def body() -> None:
        async with stub(answering(ok_response()), ssl_context=server_tls) as up, client() as http:
            with pytest.raises(UpstreamError):
                await http.request("GET", f"http://127.0.0.1:{up.port}/", {}, read_timeout=5)

    await run(body)
