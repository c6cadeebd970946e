"""The hall's SQLite file: schema and migrations, rows for the core's things, the group-commit writer,
tokens, and rebuilding the live state on start."""
