from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("anchorid_common", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="CacheGeneration",
            fields=[
                ("name", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("generation", models.BigIntegerField(default=0)),
            ],
        ),
    ]
