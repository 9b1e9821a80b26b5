"""Every JPKI object identifier and fixed protocol value, as named constants.

jpki-reference.md §1: the J-LIS arc ``1.2.392.200149.8.5`` (names from kjur/jsrsasign-oid-jpki ``lib/index.js``);
§1.2 certificate policies and the CPS URI; §1.3 the six ``otherName`` types of the signature certificate's
subjectAltName; §1.1 the CA distinguished-name strings.
"""

from __future__ import annotations

from typing import Final

from cryptography.x509 import ObjectIdentifier

# --- arcs -------------------------------------------------------------------------------------------------
JPKI_ARC: Final = "1.2.392.200149.8.5"

# --- certificate policies (§1.2) --------------------------------------------------------------------------
#: ``jpki-certificatePolicy``: the arc of every JPKI certificate policy.
JPKI_CERTIFICATE_POLICY: Final = ObjectIdentifier("1.2.392.200149.8.5.1")
#: ``digitalSignature`` policy arc (署名用).
POLICY_DIGITAL_SIGNATURE_ARC: Final = ObjectIdentifier("1.2.392.200149.8.5.1.1")
#: ``sign-class20``: the production 署名用電子証明書 policy (confirmed on a real card by ZKM).
POLICY_SIGN_CLASS20: Final = ObjectIdentifier("1.2.392.200149.8.5.1.1.20")
#: ``authenticate`` policy arc (利用者証明用).
POLICY_AUTHENTICATE_ARC: Final = ObjectIdentifier("1.2.392.200149.8.5.1.3")
#: ``auth-class30``: the production 利用者証明用電子証明書 policy (kjur only; UNCONFIRMED on a real cert).
POLICY_AUTH_CLASS30: Final = ObjectIdentifier("1.2.392.200149.8.5.1.3.30")
#: Test-environment signature policy (observed on a J-LIS test card by ZKM).
POLICY_TEST_SIGN: Final = ObjectIdentifier("1.2.392.200149.8.5.1.0.20")
#: Test-environment authentication policy: by analogy with ``.0.20`` -- UNCONFIRMED, our choice.
POLICY_TEST_AUTH: Final = ObjectIdentifier("1.2.392.200149.8.5.1.0.30")
#: The CPS qualifier every JPKI end-entity policy carries (ZKM citing J-LIS profile spec 3.2 p.10).
JPKI_CPS_URI: Final = "http://www.jpki.go.jp/cps.html"

# --- signature-certificate subjectAltName otherName types (§1.3) -------------------------------------------
#: 氏名 (commonName): family and given name separated by U+3000.
SAN_COMMON_NAME: Final = ObjectIdentifier("1.2.392.200149.8.5.5.1")
#: 氏名代替文字の使用位置情報 (substituteCharacterOfCommonName): one '0'/'1' per name character.
SAN_NAME_SUBSTITUTES: Final = ObjectIdentifier("1.2.392.200149.8.5.5.2")
#: 性別 (gender): one digit, 1 男 / 2 女 / 3 不明.
SAN_GENDER: Final = ObjectIdentifier("1.2.392.200149.8.5.5.3")
#: 生年月日 (dateOfBirth): ``EYYYYMMDD``, era digit + Gregorian date.
SAN_DATE_OF_BIRTH: Final = ObjectIdentifier("1.2.392.200149.8.5.5.4")
#: 住所 (address): from the prefecture, no postal code, at most 200 characters.
SAN_ADDRESS: Final = ObjectIdentifier("1.2.392.200149.8.5.5.5")
#: 住所代替文字の使用位置情報 (substituteCharacterOfAddress): one '0'/'1' per address character.
SAN_ADDRESS_SUBSTITUTES: Final = ObjectIdentifier("1.2.392.200149.8.5.5.6")

#: The order observed in a real signature certificate (hnakamur): .1, .4, .3, .5, .2, .6.
SAN_OTHERNAME_ORDER: Final[tuple[ObjectIdentifier, ...]] = (
    SAN_COMMON_NAME,
    SAN_DATE_OF_BIRTH,
    SAN_GENDER,
    SAN_ADDRESS,
    SAN_NAME_SUBSTITUTES,
    SAN_ADDRESS_SUBSTITUTES,
)

# --- distinguished-name strings (§1.1, §1.2) ---------------------------------------------------------------
COUNTRY_JP: Final = "JP"
CA_ORGANIZATION: Final = "JPKI"
CA_ORGANIZATION_TEST: Final = "JPKI-TEST"
CA_OU_SIGNATURE: Final = "JPKI for digital signature"
CA_OU_AUTHENTICATION: Final = "JPKI for user authentication"
CA_OU_AGENCY: Final = "Japan Agency for Local Authority Information Systems"
#: 公的個人認証サービス: O of the CA's subjectAltName and of the end-entity issuerAltName.
JA_ORGANIZATION: Final = "公的個人認証サービス"
JA_OU_SIGNATURE: Final = "公的個人認証サービス署名用"
JA_OU_AUTHENTICATION: Final = "公的個人認証サービス利用者証明用"
JA_OU_AGENCY: Final = "地方公共団体情報システム機構"

# --- key sizes and algorithms (§1.1, §1.2) -----------------------------------------------------------------
RSA_KEY_BITS: Final = 2048
RSA_PUBLIC_EXPONENT: Final = 65537
#: sha256WithRSAEncryption, the only signature algorithm JPKI certificates use.
SHA256_WITH_RSA: Final = ObjectIdentifier("1.2.840.113549.1.1.11")
