"""Time: APScheduler set-up and jobs (campaign slots, escalation sweeps, reports) live here."""
