from django.contrib import admin

from anchorid.participation.models import Meeting, ModerationAction, Moderator, Process, Survey, SurveyQuestion


@admin.register(Process)
class ProcessAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("slug", "title", "phase", "vote_kind", "voting_opened_at")
    readonly_fields = ("voting_opened_at", "published_document", "published_signature", "published_result")


@admin.register(Moderator)
class ModeratorAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("process", "username")


@admin.register(ModerationAction)
class ModerationActionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("at", "process", "moderator", "action", "target", "reason")

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class SurveyQuestionInline(admin.TabularInline):  # type: ignore[type-arg]
    """Questions: kind, text, the choices' labels as a JSON list (e.g. ["Yes", "No"]), required."""

    model = SurveyQuestion
    extra = 2


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("title", "process")
    inlines = (SurveyQuestionInline,)


@admin.register(Meeting)
class MeetingAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A meeting's set-up (date, place, seats) and, afterwards, its minutes."""

    list_display = ("title", "process", "starts_at", "place", "capacity")
