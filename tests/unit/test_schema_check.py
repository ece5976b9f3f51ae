"""The schema check every clerk process makes at start-up, without Alembic."""

from __future__ import annotations

import subprocess
import sys

from clerk.db import _script_head


def test_the_head_read_from_the_files_is_alembics(sqlite_ctx):
    from alembic.script import ScriptDirectory

    alembic_head = ScriptDirectory.from_config(sqlite_ctx.db.alembic_config()).get_current_head()
    assert _script_head() == alembic_head
    assert sqlite_ctx.db.current_revision() == alembic_head  # the fixture migrated it


def test_a_clerk_process_checks_its_schema_without_importing_alembic(sqlite_ctx, sqlite_url):
    code = (
        "import sys\n"
        "from clerk.db import Database\n"
        f"Database({sqlite_url!r}).require_current()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_database_never_migrated_has_no_revision(tmp_path):
    from clerk.db import Database

    assert Database(f"sqlite:///{tmp_path / 'new.db'}").current_revision() is None
