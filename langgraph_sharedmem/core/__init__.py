"""Storage core: the backends (SQLite, PostgreSQL) every part of the memory runs on."""
