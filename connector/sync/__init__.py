"""One sync of one client: pull, score, write back, record, act.

The order is what makes it safe to crash anywhere:

1. pull contacts changed since the bookmark (plus contacts whose score changes by time
   alone now, earlier failed writes, and, after a model change, every stored contact
   another model scored), in batches;
2. score each with the pure engine, compare with the CRM's value and the stored state;
3. write only changed scores to the CRM (at-least-once: a crash before step 4 repeats
   the write next run, which converges because the value is the same);
4. in ONE transaction: new contact state, transitions and the actions outbox (keyed by
   warm-up episode, so a repeat never enqueues a second invite), failed writes; the
   actions a model change alone causes are enqueued "held" (``model_change``); on
   the client's first sync, ``first_sync`` says what happens to the leads already warm and
   the contacts already at the floor (baseline: recorded, not acted on; hold; act);
5. hold mass actions (``actions.guard``), queue invites above a salesperson's daily cap
   (``actions.capacity``), then deliver the outbox (claimed and committed as "sending"
   before each send, so a crash mid-send leaves an "unknown" entry for a person instead
   of a blind resend);
6. move the bookmark to the sync's start time only after everything above committed.

``sync_client`` (``entrance``) is the one way in from configuration: `connector sync`,
`resync`, `run`, the queue worker and the webhook server all call it. Then, a module per
stage in the order a sync runs them: ``job`` (what a sync needs), ``run`` (one run's
lifecycle: lease, run record, outcome), ``work`` (which contacts, in which order), ``batch``
(read, score and write one batch), ``engagement`` (whose engagement is read), ``record``
(what a batch leaves in state), ``deliver`` (the outbox). Each stage is handed the run's
``context``; what it changes outside the run goes through the run's ``effects``, real or
dry. Beside them: ``lease``, ``readahead``, ``own_writes``, ``model_change``, ``report``,
``status`` (the `connector status` view), ``runtime`` (a job built from configuration) and
``targeted`` (the webhooks' dirty contacts).
"""

from connector.sync.entrance import SyncOptions, sync_client
from connector.sync.job import BATCH_SIZE, SyncJob
from connector.sync.lease import holder_name
from connector.sync.report import SyncReport
from connector.sync.run import run_sync

__all__ = ["BATCH_SIZE", "SyncJob", "SyncOptions", "SyncReport", "holder_name", "run_sync",
           "sync_client"]
