"""cases: fraud cases, victim follow-ups, household pledges (issue 7); merges the heads

Revision ID: 0007
Revises: 0004, 0005, 0006
"""
from alembic import op
import sqlalchemy as sa
import bot.db


revision = '0007'
down_revision = ('0004', '0005', '0006')
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('fraud_case',
                    sa.Column('id', _ID, nullable=False),
                    sa.Column('case_no', sa.String(length=64), nullable=False),
                    sa.Column('occurred_at', bot.db.UTCDateTime(timezone=True), nullable=False),
                    sa.Column('month', sa.String(length=7), nullable=False),
                    sa.Column('township', sa.String(length=32), nullable=False),
                    sa.Column('fraud_type', sa.String(length=32), nullable=False),
                    sa.Column('type_label', sa.String(length=64), nullable=False),
                    sa.Column('method', sa.Text(), nullable=False),
                    sa.Column('victim_age', sa.Integer(), nullable=True),
                    sa.Column('age_group', sa.String(length=8), nullable=False),
                    sa.Column('occupation', sa.String(length=32), nullable=False),
                    sa.Column('gender', sa.String(length=4), nullable=False),
                    sa.Column('loss_fen', sa.BigInteger(), nullable=False),
                    sa.Column('channel', sa.String(length=32), nullable=False),
                    sa.Column('source', sa.String(length=200), nullable=True),
                    sa.Column('imported_at', bot.db.UTCDateTime(timezone=True), nullable=False),
                    sa.Column('updated_at', bot.db.UTCDateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('case_no'))
    op.create_index('ix_fraud_case_occurred', 'fraud_case', ['occurred_at'])
    op.create_index('ix_fraud_case_type_occurred', 'fraud_case', ['fraud_type', 'occurred_at'])
    op.create_table('case_follow_up',
                    sa.Column('id', _ID, nullable=False),
                    sa.Column('case_id', _ID, nullable=False),
                    sa.Column('at', bot.db.UTCDateTime(timezone=True), nullable=False),
                    sa.Column('by', sa.String(length=100), nullable=False),
                    sa.Column('method', sa.String(length=16), nullable=False),
                    sa.Column('note', sa.Text(), nullable=False),
                    sa.Column('created_at', bot.db.UTCDateTime(timezone=True), nullable=False),
                    sa.ForeignKeyConstraint(['case_id'], ['fraud_case.id'], ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index(op.f('ix_case_follow_up_case_id'), 'case_follow_up', ['case_id'])
    op.create_table('household_pledge',
                    sa.Column('id', _ID, nullable=False),
                    sa.Column('unit', sa.String(length=64), nullable=False),
                    sa.Column('households', sa.Integer(), nullable=False),
                    sa.Column('note', sa.Text(), nullable=False),
                    sa.Column('recorded_by', sa.String(length=100), nullable=False),
                    sa.Column('recorded_at', bot.db.UTCDateTime(timezone=True), nullable=False),
                    sa.Column('source_ref', sa.String(length=255), nullable=False),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('source_ref'))
    op.create_index('ix_household_pledge_unit_at', 'household_pledge', ['unit', 'recorded_at'])


def downgrade() -> None:
    op.drop_index('ix_household_pledge_unit_at', table_name='household_pledge')
    op.drop_table('household_pledge')
    op.drop_index(op.f('ix_case_follow_up_case_id'), table_name='case_follow_up')
    op.drop_table('case_follow_up')
    op.drop_index('ix_fraud_case_type_occurred', table_name='fraud_case')
    op.drop_index('ix_fraud_case_occurred', table_name='fraud_case')
    op.drop_table('fraud_case')
