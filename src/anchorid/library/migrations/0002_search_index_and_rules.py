"""Search indexes per database vendor, and the default circulation rules.

- SQLite: an FTS5 table with the trigram tokenizer over each title's normalised search text (``rowid`` = the
  title's id; kept in step by ``catalogue.index``).
- PostgreSQL: the pg_trgm extension and a GIN trigram index on the search text (LIKE '%…%' uses it).
- The rules matrix (Shinjuku's and Kobe's pattern): 2 loans of 14 days, 2 holds, one renewal when nobody holds the
  title, 7 days to collect a ready hold — the same for commuters.
"""

from django.db import migrations


def create_search_index(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("CREATE VIRTUAL TABLE library_title_fts USING fts5(body, tokenize='trigram')")
    elif vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(
            "CREATE INDEX library_title_search_trgm ON library_title USING gin (search_text gin_trgm_ops)"
        )


def drop_search_index(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS library_title_fts")
    elif vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS library_title_search_trgm")


def default_rules(apps, schema_editor):  # type: ignore[no-untyped-def]
    rule = apps.get_model("library", "CirculationRule")
    for category in ("resident", "commuter"):
        rule.objects.get_or_create(
            category=category,
            defaults={"max_loans": 2, "loan_days": 14, "max_holds": 2, "renewals": 1, "pickup_days": 7},
        )


class Migration(migrations.Migration):
    dependencies = [("library", "0001_initial")]

    operations = [
        migrations.RunPython(create_search_index, drop_search_index),
        migrations.RunPython(default_rules, migrations.RunPython.noop),
    ]
