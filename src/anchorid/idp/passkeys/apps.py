from django.apps import AppConfig


class PasskeysConfig(AppConfig):
    name = "anchorid.idp.passkeys"
    label = "passkeys"
    verbose_name = "Passkeys"

    def ready(self) -> None:
        from anchorid.idp.passkeys.ceremonies import passkey_is_usable
        from anchorid.idp.sessions import register_credential_check

        register_credential_check("passkey", passkey_is_usable)
