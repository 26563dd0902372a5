"""the reply outbox: replies recorded before they are sent, deleted once sent

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'pending_replies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('delivery_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('sender_key', sa.String(length=64), nullable=True),
        sa.Column('anonymous', sa.Boolean(), nullable=False),
        sa.Column('reply', sa.JSON(), nullable=False),
        sa.Column('voice_ogg', sa.LargeBinary(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_replies')),
    )
    op.create_index('ix_pending_replies_delivery', 'pending_replies', ['delivery_id', 'position'], unique=False)
    op.create_index('ix_pending_replies_channel', 'pending_replies', ['channel', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_pending_replies_channel', table_name='pending_replies')
    op.drop_index('ix_pending_replies_delivery', table_name='pending_replies')
    op.drop_table('pending_replies')
