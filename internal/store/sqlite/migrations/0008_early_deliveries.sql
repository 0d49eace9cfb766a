-- A platform's report on a reply that arrives before webcare has recorded
-- the reply's platform id (WhatsApp can say "delivered" within the same
-- second as it answers the send). Kept here for an hour; DeliverOutbox
-- applies and removes it. Reports on messages webcare never sent (the
-- business app's own) expire unused.
CREATE TABLE early_deliveries (
    channel_id  INTEGER NOT NULL,
    platform_id TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    error       TEXT    NOT NULL DEFAULT '',
    at          INTEGER NOT NULL,
    PRIMARY KEY (channel_id, platform_id)
);
CREATE INDEX early_deliveries_at ON early_deliveries (at);
