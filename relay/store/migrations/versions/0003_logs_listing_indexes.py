"""logs listing indexes by (column, created_at, id); quota_data hour buckets unique

Revision ID: 0003
Revises: 0002

Listings page newest first by (created_at, id) and almost always carry a time range, so each
filter column's index becomes (column, created_at, id): a filtered, time-bounded page is one
backward index range scan that stops after the page. 0001's six (column, id) indexes are
rebuilt under the same names; username, token_name, group and upstream_request_id (the rest of
new-api's console filters) get theirs. quota_data gets a unique index on its grouping columns
so the drain can upsert-increment one row per (hour, user, model, group, token, channel, node).

On a large existing logs table this rebuilds indexes (minutes at 10M rows, writes to logs
blocked meanwhile; the drain just falls behind and catches up).
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

REBUILT = {
    "idx_logs_user_id": "user_id",
    "idx_logs_type_id": "type",
    "idx_logs_token_id": "token_id",
    "idx_logs_channel_id": "channel_id",
    "idx_logs_model_id": "model_name",
}
ADDED = {
    "idx_logs_username": "username",
    "idx_logs_token_name": "token_name",
    "idx_logs_group": "group",
}
# A frozen copy of relay.store.schema.QUOTA_DATA_BUCKET: migrations never import app code.
BUCKET = [
    "user_id",
    "created_at",
    "username",
    "model_name",
    "use_group",
    "token_id",
    "channel_id",
    "node_name",
]


def upgrade() -> None:
    with op.batch_alter_table("logs", schema=None) as batch_op:
        for name in REBUILT:
            batch_op.drop_index(name)
        for name, column in {**REBUILT, **ADDED}.items():
            batch_op.create_index(name, [column, "created_at", "id"], unique=False)
        batch_op.create_index("idx_logs_upstream_request_id", ["upstream_request_id"])
    with op.batch_alter_table("quota_data", schema=None) as batch_op:
        batch_op.create_index("uq_quota_data_bucket", BUCKET, unique=True)


def downgrade() -> None:
    with op.batch_alter_table("quota_data", schema=None) as batch_op:
        batch_op.drop_index("uq_quota_data_bucket")
    with op.batch_alter_table("logs", schema=None) as batch_op:
        batch_op.drop_index("idx_logs_upstream_request_id")
        for name in {**REBUILT, **ADDED}:
            batch_op.drop_index(name)
        for name, column in REBUILT.items():
            batch_op.create_index(name, [column, "id"], unique=False)
