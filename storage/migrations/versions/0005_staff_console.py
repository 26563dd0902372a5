"""the staff console: accounts, sessions, audit log, handover messages, who took a handover

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'staff_accounts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('display_name', sa.String(length=120), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('agency', sa.String(length=200), nullable=True),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_login_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_accounts')),
        sa.UniqueConstraint('username', name=op.f('uq_staff_accounts_username')),
    )
    op.create_table(
        'staff_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['staff_accounts.id'],
                                name=op.f('fk_staff_sessions_account_id_staff_accounts'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_sessions')),
        sa.UniqueConstraint('digest', name=op.f('uq_staff_sessions_digest')),
    )
    op.create_index(op.f('ix_staff_sessions_account_id'), 'staff_sessions', ['account_id'], unique=False)
    op.create_table(
        'audit_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('target', sa.String(length=120), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    )
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'], unique=False)
    op.create_table(
        'handover_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('handover_id', sa.Integer(), nullable=False),
        sa.Column('direction', sa.String(length=3), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('audio_path', sa.String(length=500), nullable=True),
        sa.Column('author', sa.String(length=64), nullable=True),
        sa.Column('inbound_ref', sa.String(length=80), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('delivered_at', sa.DateTime(), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(['handover_id'], ['handover_requests.id'],
                                name=op.f('fk_handover_messages_handover_id_handover_requests'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_handover_messages')),
        sa.UniqueConstraint('inbound_ref', name=op.f('uq_handover_messages_inbound_ref')),
    )
    op.create_index(op.f('ix_handover_messages_handover_id'), 'handover_messages', ['handover_id'], unique=False)
    with op.batch_alter_table('handover_requests') as batch:
        batch.add_column(sa.Column('taken_by', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('taken_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('returned_at', sa.DateTime(), nullable=True))
    op.create_index('ix_handover_sender_state', 'handover_requests', ['sender_ref', 'state'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_handover_sender_state', table_name='handover_requests')
    with op.batch_alter_table('handover_requests') as batch:
        batch.drop_column('returned_at')
        batch.drop_column('taken_at')
        batch.drop_column('taken_by')
    op.drop_index(op.f('ix_handover_messages_handover_id'), table_name='handover_messages')
    op.drop_table('handover_messages')
    op.drop_index(op.f('ix_audit_log_at'), table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_index(op.f('ix_staff_sessions_account_id'), table_name='staff_sessions')
    op.drop_table('staff_sessions')
    op.drop_table('staff_accounts')
