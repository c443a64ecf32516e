"""Database access: naming, engines, schema snapshots, migrations and the startup guard."""
