"""redemptions.key_sealed

Revision ID: 0002
Revises: 0001

Redemption codes are secrets: `redemptions.key` holds their HMAC lookup digest (as
`tokens.key` does) and the new `key_sealed` column the AES-GCM sealed code, so admins can still
list the codes they issued. Rows imported from One API / new-api get their plaintext key sealed
by the importer.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_sealed", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.drop_column("key_sealed")
