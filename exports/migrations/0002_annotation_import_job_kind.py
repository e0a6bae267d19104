"""Annotation imports ran as jobs of kind "import", the kind of media imports, so they showed
in the project's media import history: give them their own kind."""

from django.db import migrations


def forwards(apps, schema_editor):
    Import = apps.get_model("exports", "Import")
    Job = apps.get_model("jobs", "Job")
    Job.objects.filter(kind="import", pk__in=Import.objects.values("job_id")).update(kind="annotation_import")


def backwards(apps, schema_editor):
    Import = apps.get_model("exports", "Import")
    Job = apps.get_model("jobs", "Job")
    Job.objects.filter(kind="annotation_import", pk__in=Import.objects.values("job_id")).update(kind="import")


class Migration(migrations.Migration):
    dependencies = [("exports", "0001_initial"), ("jobs", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
