"""Fixtures for the relay tests: a store URL per backend (SQLite file, or a fresh PostgreSQL schema)."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

PG_ENV = "SENDGUARD_TEST_PG_URL"
PG_SKIP = f"PostgreSQL tests need {PG_ENV} (scripts/ci-postgres.sh starts a server and prints the URL)"


def pg_url() -> str | None:
    return os.environ.get(PG_ENV) or None


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store URL for an empty store, on each backend."""
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path / "relay.db")
        return
    yield from _pg_schema()


@pytest.fixture
def pg_store_url() -> Iterator[str]:
    yield from _pg_schema()


def _pg_schema() -> Iterator[str]:
    """A schema of its own per test (via search_path), so tests never see each other's rows."""
    base = pg_url()
    if base is None:
        pytest.skip(PG_SKIP)
    schema = "relay_test_" + secrets.token_hex(5)
    url = sa.make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost: (cert.pem, key.pem)."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key
