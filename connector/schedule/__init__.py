"""`connector run`: every client synced on its own schedule (``scheduler.Runner``)."""
