"""The third-party browser code the currency serves, pinned: jsQR 1.4.0 (Apache-2.0; the terminal decodes payment
QRs from the camera with it), a copy of the release's ``dist/jsQR.js`` in ``static/currency/vendor/`` with its
licence. tests/support/jsqr/package-lock.json pins the release by its npm sha512 integrity; scripts/bootstrap --test
installs it there and tests/currency/test_terminal_qr.py checks the served file is that release byte for byte. The
page loads it with this Subresource Integrity hash (a changed file is refused by the browser)."""

JSQR_VERSION = "1.4.0"
JSQR_INTEGRITY = "sha384-b5Ya4Bq3qCyz39m2ISh+4DxjAIljdeFwK/BsXLuj9gugaNwAcj/ia15fxNZL9Nlx"
