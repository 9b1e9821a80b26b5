"""The deployment's own certificate authority and the proxy's server certificate, made with Debian's ``openssl``.

Made once per deployment folder (``tls/``): an ECDSA P-256 CA (``ca.pem``, its key ``ca.key`` 0600) and a server
certificate for ``localhost`` and ``127.0.0.1`` signed by it, written with its key as the single PEM file HAProxy
reads (``proxy.pem``, 0600). Clients trust ``ca.pem`` (``REQUESTS_CA_BUNDLE``/``SSL_CERT_FILE`` for the parties'
own calls to each other, ``curl --cacert``, the tests). A real deployment takes its certificates from its PKI or
ACME instead; nothing else changes.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

#: Days the local certificates are valid: a development deployment, made again with a new folder.
VALID_DAYS = 90
SERVER_NAMES = "DNS:localhost,IP:127.0.0.1"


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"openssl {args[0]} failed: {done.stderr.strip()}")


def make_certificates(folder: Path) -> Path:
    """Create the CA and the proxy's certificate in ``folder`` unless they exist; return the CA certificate's path."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca = folder / "ca.pem"
    if (folder / "proxy.pem").exists() and ca.exists():
        return ca
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", str(VALID_DAYS),
             "-subj", "/CN=AnchorID local deployment CA",
             "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-addext", "subjectKeyIdentifier=hash", cwd=folder)  # fmt: skip
    _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=folder)
    (folder / "server.ext").write_text(
        f"subjectAltName={SERVER_NAMES}\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n"
    )
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", str(VALID_DAYS), "-extfile", "server.ext", cwd=folder)  # fmt: skip
    bundle = (folder / "server.pem").read_text() + (folder / "server.key").read_text()
    (folder / "proxy.pem").write_text(bundle)
    for name in ("ca.key", "server.key", "proxy.pem"):
        (folder / name).chmod(0o600)
    (folder / "server.csr").unlink()
    return ca
