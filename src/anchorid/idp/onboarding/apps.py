from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    name = "anchorid.idp.onboarding"
    label = "onboarding"
    verbose_name = "Card onboarding"
