"""``connector serve``: webhooks in, targeted syncs out, health and metrics (README,
"Webhooks")."""
