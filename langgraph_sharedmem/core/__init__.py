"""The storage core, the base layer every part builds on; it imports no part.

Layers, data flowing down, never up:

1. ``core/`` — the backends behind one interface (`core.backend.Backend`, picked by
   `core.backend.open_database`): SQLite (`core.sqlite.Database`: connections, transactions,
   migrations, async runner) and PostgreSQL (`core.postgres.PostgresDatabase`: a pool,
   advisory locks, migrations, and `core.pg_compat` for parts whose SQLite statements are
   translated); the one part lifecycle (`core.part.DatabasePart`, on either backend); the
   change log every part writes (`core.changelog`, `core.changelog_pg`); and the value types
   and checks every part shares (`core.values`: `Scope`, names, ids, canonical JSON).
2. the parts, each owning its tables (SQLite in ``_schema.py``, PostgreSQL in
   ``_schema_pg.py``) and exposing the reads others need: ``checkpoint/``, ``store/``,
   ``facts/``, ``agents/`` (access rules and audit), ``registry/``, ``conversation/``,
   ``toolcache/``.
3. above the parts: ``changes/`` (feed, subscriptions, as-of reads), ``validation/``,
   ``templates/``, ``cli/`` and ``shared.py`` (`SharedMemory`, which creates and closes the
   parts).

``tests/test_layers.py`` keeps it so. Nothing is imported here, so importing one core module
stays cheap (the PostgreSQL modules need psycopg and are imported only when used).
"""
