"""The OpenID Provider's URLs. Stable: relying parties and the interop tests depend on them (discovery lists them)."""

from django.urls import path

from anchorid.idp.oidc import views

urlpatterns = [
    path(".well-known/openid-configuration", views.openid_configuration, name="oidc_configuration"),
    path(".well-known/oauth-authorization-server", views.openid_configuration, name="oauth_metadata"),
    path("oidc/jwks", views.jwks_view, name="oidc_jwks"),
    path("oidc/par", views.par_view, name="oidc_par"),
    path("oidc/authorize", views.authorize_view, name="oidc_authorize"),
    path("oidc/authorize/consent", views.consent_view, name="oidc_consent"),
    path("oidc/token", views.token_view, name="oidc_token"),
    path("oidc/userinfo", views.userinfo_view, name="oidc_userinfo"),
    path("oidc/introspect", views.introspect_view, name="oidc_introspect"),
    path("oidc/revoke", views.revoke_view, name="oidc_revoke"),
    path("oidc/logout", views.logout_view, name="oidc_logout"),
    path("oidc/logout/confirm", views.logout_confirm_view, name="oidc_logout_confirm"),
    path("me/services/<str:client_id>/withdraw/", views.withdraw_consent_view, name="oidc_withdraw_consent"),
]
