"""`connector rules preview`: what a rules change would do to a client's stored contacts
(who would be invited, unsubscribed or stop being warm) before it goes live."""
