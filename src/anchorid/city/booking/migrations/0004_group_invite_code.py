"""Groups get an invite code for members to join. Added nullable, filled per existing group, then made unique and
required (a single AddField with a callable default would give every existing group the same code)."""

import secrets

from django.db import migrations, models

import anchorid.city.booking.models


def fill(apps, schema_editor):
    Group = apps.get_model("booking", "Group")
    for group in Group.objects.filter(invite_code__isnull=True):
        group.invite_code = secrets.token_urlsafe(12)
        group.save(update_fields=["invite_code"])


class Migration(migrations.Migration):
    dependencies = [("booking", "0003_simulated_charge")]

    operations = [
        migrations.AddField(model_name="group", name="invite_code", field=models.CharField(max_length=24, null=True)),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="group",
            name="invite_code",
            field=models.CharField(
                default=anchorid.city.booking.models.new_invite_code, max_length=24, unique=True
            ),
        ),
    ]
