"""Notifications: the outbox relay, signed webhooks with durable retries, and the event stream.

Flow: the engine writes ``outbox_events`` in the transaction of each change. The relay (one at a
time, serialised by the ``outbox_cursor`` row) gives each new event its place in the global stream
(``global_seq``) and fans it out into one ``webhook_deliveries`` row per matching endpoint. Senders
claim due deliveries (the head of each endpoint-and-persona stream only, so a persona's events reach
an endpoint in order), sign and post them, and record the outcome with the next attempt's time.
"""
