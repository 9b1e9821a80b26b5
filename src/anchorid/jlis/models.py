"""The resident register, the two JPKI CAs, their certificates and the platform-operator records.

Everything the simulated J-LIS knows lives here; other parties reach it only through OCSP, CRL and the
platform-operator API.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from anchorid.jpki.attributes import FULLWIDTH_SPACE


class CertificateKind(models.TextChoices):
    """The two separate JPKI hierarchies (jpki-reference.md §1.1)."""

    SIGNATURE = "sign", "署名用電子証明書"
    AUTHENTICATION = "auth", "利用者証明用電子証明書"


class Resident(models.Model):
    """One person in the (synthetic) resident register, as the city counter keeps it.

    Names are kept as registered (they may hold characters outside the JIS sets the certificate may carry);
    the certificate form, with substitute characters and their position maps, is derived at issuance.
    """

    class Gender(models.TextChoices):
        MALE = "1", "男"
        FEMALE = "2", "女"
        UNKNOWN = "3", "不明"

    class Status(models.TextChoices):
        ALIVE = "alive", "住民"
        DEAD = "dead", "死亡"

    family_name = models.CharField(max_length=50)
    given_name = models.CharField(max_length=50)
    family_name_kana = models.CharField(max_length=100)
    given_name_kana = models.CharField(max_length=100)
    birth_date = models.DateField()
    gender = models.CharField(max_length=1, choices=Gender.choices)
    address = models.CharField(max_length=200)
    municipality_code = models.CharField(max_length=6)
    my_number = models.CharField(max_length=12, unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ALIVE)
    died_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["id"]

    def __str__(self) -> str:
        # Identifies the record without printing personal data into logs or admin breadcrumbs.
        return f"resident #{self.pk}"

    @property
    def name(self) -> str:
        return f"{self.family_name}{FULLWIDTH_SPACE}{self.given_name}"

    @property
    def is_alive(self) -> bool:
        return self.status == self.Status.ALIVE


class Card(models.Model):
    """A My Number Card handed out at the counter: a virtual card file with its keys inside."""

    class Status(models.TextChoices):
        ACTIVE = "active", "有効"
        SUSPENDED = "suspended", "一時停止 (紛失)"
        INVALID = "invalid", "廃止"

    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="cards")
    card_file = models.CharField(max_length=500, unique=True)
    issued_on = models.DateField()
    expires_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["id"]

    def __str__(self) -> str:
        return f"card #{self.pk}"


class CertificateAuthority(models.Model):
    """One of the two JPKI roots, with its delegated OCSP responder and its current CRL.

    Private keys are not in the database: they sit in the data folder, PKCS#8-encrypted under the CA
    passphrase (``anchorid.jlis.keystore``); the rows name the files.
    """

    kind = models.CharField(max_length=4, choices=CertificateKind.choices, unique=True)
    certificate_der = models.BinaryField()
    key_file = models.CharField(max_length=200)
    responder_certificate_der = models.BinaryField()
    responder_key_file = models.CharField(max_length=200)
    crl_number = models.PositiveBigIntegerField(default=0)
    crl_der = models.BinaryField(null=True, blank=True)
    crl_next_update = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "certificate authority"
        verbose_name_plural = "certificate authorities"  # the admin's own plural read "Certificate authoritys"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} CA"


class Certificate(models.Model):
    """An end-entity certificate issued by one of the CAs, with its pre-signed OCSP response."""

    class Status(models.TextChoices):
        GOOD = "good", "有効"
        REVOKED = "revoked", "失効"

    class Reason(models.TextChoices):
        """RFC 5280 §5.3.1 CRLReason names (as cryptography's ``ReasonFlags`` values)."""

        UNSPECIFIED = "unspecified"
        KEY_COMPROMISE = "keyCompromise"
        CA_COMPROMISE = "cACompromise"
        AFFILIATION_CHANGED = "affiliationChanged"
        SUPERSEDED = "superseded"
        CESSATION_OF_OPERATION = "cessationOfOperation"
        CERTIFICATE_HOLD = "certificateHold"

    authority = models.ForeignKey(CertificateAuthority, on_delete=models.PROTECT, related_name="certificates")
    kind = models.CharField(max_length=4, choices=CertificateKind.choices)
    serial = models.PositiveBigIntegerField()
    der = models.BinaryField()
    subject_cn = models.CharField(max_length=64)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.GOOD)
    revocation_reason = models.CharField(max_length=24, choices=Reason.choices, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="certificates")
    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="certificates")
    # The pre-signed OCSP response (SHA-1 CertID, no nonce), re-signed on revocation and before next_update.
    ocsp_response = models.BinaryField(null=True, blank=True)
    ocsp_next_update = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["authority", "serial"], name="jlis_certificate_serial_per_ca"),
        ]
        indexes: ClassVar = [models.Index(fields=["kind", "serial"], name="jlis_cert_kind_serial")]

    def __str__(self) -> str:
        return f"{self.kind} certificate {self.serial}"

    @property
    def is_good(self) -> bool:
        return self.status == self.Status.GOOD


class CertificateLink(models.Model):
    """証明書新旧紐付け情報 (old → new) and 証明書紐付け情報 (signature ↔ authentication on one card)."""

    class Kind(models.TextChoices):
        SUCCESSOR = "successor", "新旧"
        PAIR = "pair", "署名用・利用者証明用"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    # For SUCCESSOR: source = old, target = new. For PAIR: source = signature, target = authentication.
    source = models.ForeignKey(Certificate, on_delete=models.CASCADE, related_name="links_out")
    target = models.ForeignKey(Certificate, on_delete=models.CASCADE, related_name="links_in")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["kind", "source", "target"], name="jlis_certificate_link_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} link {self.source_id} → {self.target_id}"


class PlatformOperator(models.Model):
    """A certified platform operator (プラットフォーム事業者) allowed to call the operator API."""

    name = models.CharField(max_length=100, unique=True)
    key_id = models.CharField(max_length=64, unique=True, help_text="RFC 7638 thumbprint of the public JWK")
    public_jwk = models.JSONField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class AttributeConsent(models.Model):
    """A resident's consent, signed with the card's signature key, that one operator may fetch current attributes."""

    operator = models.ForeignKey(PlatformOperator, on_delete=models.PROTECT, related_name="consents")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="consents")
    certificate = models.ForeignKey(Certificate, on_delete=models.PROTECT, related_name="consents")
    document = models.BinaryField()
    signature = models.BinaryField()
    signed_at = models.DateTimeField()
    lodged_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["operator", "resident"], name="jlis_consent_op_resident")]

    def __str__(self) -> str:
        return f"consent #{self.pk}"


class UsedRequestId(models.Model):
    """``jti`` values of operator requests already seen: a second use is a replay."""

    operator = models.ForeignKey(PlatformOperator, on_delete=models.CASCADE)
    jti = models.CharField(max_length=128)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=["operator", "jti"], name="jlis_jti_once")]

    def __str__(self) -> str:
        return f"jti of operator {self.operator_id}"


class LifeEvent(models.Model):
    """What happened at the counter or the hotline, in order. ``detail`` holds identifiers, never attributes."""

    class Kind(models.TextChoices):
        CARD_ISSUED = "card_issued", "交付"
        MOVE = "move", "転居"
        NAME_CHANGE = "name_change", "氏名変更"
        SIGNATURE_REISSUED = "signature_reissued", "署名用電子証明書の再発行"
        DEATH = "death", "死亡"
        HOLD = "hold", "一時保留 (紛失)"
        PIN_RESET = "pin_reset", "暗証番号の初期化"

    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="life_events")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    detail = models.JSONField(default=dict)

    class Meta:
        ordering: ClassVar = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} of resident #{self.resident_id}"


class Household(models.Model):
    """A household (世帯) of the resident register; members are residents, one of them its head."""

    code = models.CharField(max_length=16, unique=True, help_text="the register's household number (synthetic)")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"household #{self.pk}"


class HouseholdMember(models.Model):
    class Relation(models.TextChoices):
        HEAD = "head", "世帯主"
        SPOUSE = "spouse", "妻・夫"
        CHILD = "child", "子"
        OTHER = "other", "その他"

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="members")
    resident = models.OneToOneField(Resident, on_delete=models.PROTECT, related_name="household_membership")
    relation = models.CharField(max_length=8, choices=Relation.choices)

    def __str__(self) -> str:
        return f"member of household #{self.household_id}"


class GuardianRelation(models.Model):
    """Who holds parental authority (親権) or guardianship (未成年後見) over a minor, as the register records it."""

    class Kind(models.TextChoices):
        PARENT = "parent", "親権者"
        GUARDIAN = "guardian", "未成年後見人"

    child = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="guardians")
    guardian = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="wards")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PARENT)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["child", "guardian"], name="jlis_guardian_once"),
        ]

    def __str__(self) -> str:
        return f"guardian relation #{self.pk}"
