"""status updates: what their delivery came to, and the satisfaction question at closing

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('status_history') as batch:
        batch.add_column(sa.Column('notification_outcome', sa.String(length=16), nullable=True))
    op.create_table(
        'closing_rating_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('identity_hash', sa.String(length=64), nullable=False),
        sa.Column('asked_at', sa.DateTime(), nullable=False),
        sa.Column('settled_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_closing_rating_requests_report_id_reports'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_closing_rating_requests')),
        sa.UniqueConstraint('report_id', name=op.f('uq_closing_rating_requests_report_id')),
    )
    op.create_index(op.f('ix_closing_rating_requests_identity_hash'), 'closing_rating_requests', ['identity_hash'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_closing_rating_requests_identity_hash'), table_name='closing_rating_requests')
    op.drop_table('closing_rating_requests')
    with op.batch_alter_table('status_history') as batch:
        batch.drop_column('notification_outcome')
