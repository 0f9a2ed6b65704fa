"""users.skill_levels and users.queue_penalties: an agent's level (1-10) per skill and
penalty (>= 0) per queue, both JSON maps, empty for existing rows

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMPTY_DICT = sa.text("'{}'")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("skill_levels", sa.JSON(), server_default=EMPTY_DICT, nullable=False)
        )
        batch.add_column(
            sa.Column("queue_penalties", sa.JSON(), server_default=EMPTY_DICT, nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("queue_penalties")
        batch.drop_column("skill_levels")
