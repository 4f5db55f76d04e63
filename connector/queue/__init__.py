"""Scale-out on a queue: a Celery app on Redis (``app``), the sync task a worker runs
(``tasks``) and the producer the scheduler uses to enqueue due clients (``producer``).

Only `connector worker` and `connector run --queue` import this package (extra ``[queue]``).
"""
