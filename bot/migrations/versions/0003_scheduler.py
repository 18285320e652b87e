"""scheduler: APScheduler's job store table and the leader lease

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
import bot.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the table APScheduler's SQLAlchemyJobStore expects (apscheduler 3.x)
    op.create_table('apscheduler_jobs',
                    sa.Column('id', sa.Unicode(191), nullable=False),
                    sa.Column('next_run_time', sa.Float(25), nullable=True),
                    sa.Column('job_state', sa.LargeBinary(), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_apscheduler_jobs_next_run_time', 'apscheduler_jobs', ['next_run_time'])
    op.create_table('scheduler_lease',
                    sa.Column('name', sa.String(length=64), nullable=False),
                    sa.Column('holder', sa.String(length=200), nullable=False),
                    sa.Column('expires_at', bot.db.UTCDateTime(timezone=True), nullable=False),
                    sa.Column('acquired_at', bot.db.UTCDateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('name'))


def downgrade() -> None:
    op.drop_table('scheduler_lease')
    op.drop_index('ix_apscheduler_jobs_next_run_time', table_name='apscheduler_jobs')
    op.drop_table('apscheduler_jobs')
