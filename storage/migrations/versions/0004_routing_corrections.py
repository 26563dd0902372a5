"""operators' corrections of category and agency, for retraining

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'routing_corrections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('region_code', sa.String(length=16), nullable=True),
        sa.Column('old_category', sa.String(length=40), nullable=True),
        sa.Column('new_category', sa.String(length=40), nullable=True),
        sa.Column('old_agency', sa.String(length=200), nullable=True),
        sa.Column('new_agency', sa.String(length=200), nullable=True),
        sa.Column('corrected_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_routing_corrections_report_id_reports'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_corrections')),
    )
    op.create_index(op.f('ix_routing_corrections_report_id'), 'routing_corrections', ['report_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_routing_corrections_report_id'), table_name='routing_corrections')
    op.drop_table('routing_corrections')
