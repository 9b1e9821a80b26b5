"""The Security Event Token event types AnchorID sends and its receivers understand (CAEP 1.0, RISC 1.0, SSF 1.0).

One definition for both sides: the idp's transmitter (``anchorid.idp.ssf.events``) and the receivers of the city's
departments and the sample providers (``anchorid.ssf_receiver.events``). Plain strings; imports nothing.
"""

from __future__ import annotations

CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
RISC = "https://schemas.openid.net/secevent/risc/event-type/"
SSF = "https://schemas.openid.net/secevent/ssf/event-type/"

CLAIMS_CHANGE = CAEP + "claims-change"
CREDENTIAL_CHANGE = CAEP + "credential-change"
SESSION_REVOKED = CAEP + "session-revoked"
ACCOUNT_DISABLED = RISC + "account-disabled"
ACCOUNT_ENABLED = RISC + "account-enabled"
VERIFICATION = SSF + "verification"
STREAM_UPDATED = SSF + "stream-updated"
