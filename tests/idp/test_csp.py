from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_it_sends_a_strict_content_security_policy(client: Client) -> None:
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"].startswith("default-src 'self'")
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
