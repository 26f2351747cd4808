"""The PostgreSQL the tests may use: a fresh schema per use, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

PG_ENV = "TAILOR_TEST_POSTGRES_URL"


def fresh_schema_url() -> Iterator[str]:
    """Yield a URL of the server at $TAILOR_TEST_POSTGRES_URL whose search_path is a new schema.

    Skips the calling test with the command that starts a server when the variable is unset.
    Use it as ``yield from fresh_schema_url()`` in a fixture; the schema is dropped afterwards.
    """
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f'PostgreSQL tests need {PG_ENV}; run: export "$(scripts/postgres.sh)"')
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(sa.make_url(base).set(drivername="postgresql+psycopg"))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (
            sa.make_url(base)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
