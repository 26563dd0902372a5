"""the web chat's per-device mailbox of replies not yet shown

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'web_replies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('identity_hash', sa.String(length=64), nullable=False),
        sa.Column('source', sa.String(length=120), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('body', sa.JSON(), nullable=False),
        sa.Column('voice_ogg', sa.LargeBinary(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_web_replies')),
        sa.UniqueConstraint('identity_hash', 'source', name='uq_web_replies_source'),
    )
    op.create_index('ix_web_replies_device', 'web_replies', ['identity_hash', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_web_replies_device', table_name='web_replies')
    op.drop_table('web_replies')
