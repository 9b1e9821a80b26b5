"""URLs of the local currency."""

from django.contrib import admin
from django.urls import include, path

from anchorid.common import health
from anchorid.currency import api, views

urlpatterns = [
    *health.urls("currency"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", views.home, name="currency_home"),
    path("login/", views.login, name="currency_login"),
    path("callback/", views.callback, name="currency_callback"),
    path("logout/", views.logout, name="currency_logout"),
    path("logged-out/", views.logged_out, name="currency_logged_out"),
    path("backchannel-logout/", views.backchannel_logout, name="currency_backchannel_logout"),
    path(".well-known/jwks.json", views.jwks, name="currency_jwks"),
    path("charge/", views.charge, name="currency_charge"),
    path("pay/<str:qr_token>/", views.pay_static, name="currency_pay"),
    path("code/", views.payment_code, name="currency_payment_code"),
    path("code/<str:token>/", views.payment_code_show, name="currency_payment_code_show"),
    path("code/<str:token>/status", views.payment_code_status, name="currency_payment_code_status"),
    path("code/<str:token>/confirm", views.payment_code_confirm, name="currency_payment_code_confirm"),
    path("benefits/<int:programme_id>/claim/", views.claim, name="currency_claim"),
    path("merchant/register/", views.merchant_register, name="currency_merchant_register"),
    path("merchant/<int:merchant_id>/", views.merchant_page, name="currency_merchant"),
    path("merchant/<int:merchant_id>/terminal/", views.merchant_terminal, name="currency_terminal"),
    path("merchant/<int:merchant_id>/read", views.merchant_read_code, name="currency_terminal_read"),
    path("merchant/<int:merchant_id>/payments.json", views.merchant_payments, name="currency_terminal_payments"),
    path("merchant/<int:merchant_id>/refund/<str:payment_id>/", views.merchant_refund, name="currency_refund"),
    path("merchant/<int:merchant_id>/statement.csv", views.merchant_statement, name="currency_statement"),
    path("issuer/", views.issuer, name="currency_issuer"),
    path("issuer/analytics/", views.analytics_page, name="currency_analytics"),
    path("issuer/analytics/<str:name>.csv", views.analytics_csv, name="currency_analytics_csv"),
    path("issuer/analytics/<str:name>.svg", views.analytics_svg, name="currency_analytics_svg"),
    path("api/v1/credits", api.credits, name="currency_api_credits"),
    path("api/v1/wallet", api.wallet, name="currency_api_wallet"),
]
