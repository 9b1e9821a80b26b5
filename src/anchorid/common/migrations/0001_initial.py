from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="RateLimitCounter",
            fields=[
                ("counter_key", models.CharField(max_length=200, primary_key=True, serialize=False)),
                ("hits", models.PositiveIntegerField()),
                ("expires_at", models.BigIntegerField(db_index=True)),
            ],
        ),
    ]
