"""Slots of one facility never overlap, decided by the database.

PostgreSQL: an exclusion constraint over (facility =, tstzrange(starts_at, ends_at) &&) with btree_gist, so two
concurrent inserts cannot both succeed. SQLite: BEFORE INSERT/UPDATE triggers that abort with a constraint error
when another slot of the facility overlaps; SQLite serialises writers (IMMEDIATE transactions in this project),
so the check and the write are one step. Both raise IntegrityError; the service maps it to ``SlotOverlaps``.
Half-open periods: a slot ending at 10:00 and one starting at 10:00 do not overlap.
"""

from django.db import migrations

CONSTRAINT = "booking_slot_no_overlap"

SQLITE_CHECK = """
CREATE TRIGGER {name} BEFORE {event} ON booking_slot
WHEN EXISTS (
    SELECT 1 FROM booking_slot AS other
    WHERE other.facility_id = NEW.facility_id AND other.id IS NOT NEW.id
      AND other.starts_at < NEW.ends_at AND other.ends_at > NEW.starts_at
)
BEGIN
    SELECT RAISE(ABORT, '{constraint}: slot overlaps another slot of the facility');
END
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        schema_editor.execute(
            f"ALTER TABLE booking_slot ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist "
            "(facility_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)"
        )
    elif vendor == "sqlite":
        for event, name in (("INSERT", "booking_slot_no_overlap_insert"), ("UPDATE", "booking_slot_no_overlap_update")):
            schema_editor.execute(SQLITE_CHECK.format(name=name, event=event, constraint=CONSTRAINT))
    else:
        raise RuntimeError(f"slots need a non-overlap guarantee on {vendor}: not implemented")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE booking_slot DROP CONSTRAINT IF EXISTS {CONSTRAINT}")
    else:
        schema_editor.execute("DROP TRIGGER IF EXISTS booking_slot_no_overlap_insert")
        schema_editor.execute("DROP TRIGGER IF EXISTS booking_slot_no_overlap_update")


class Migration(migrations.Migration):
    dependencies = [("booking", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
