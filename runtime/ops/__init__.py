"""Operating a desk: consistent backups and their restore, and a faithful copy of a whole desk to another
database (SQLite to PostgreSQL). The operator's guide is docs/operations.md."""
