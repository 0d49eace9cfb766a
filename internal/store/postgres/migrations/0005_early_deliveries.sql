-- A platform's report on a reply that arrives before webcare has recorded
-- the reply's platform id (WhatsApp can say "delivered" within the same
-- second as it answers the send). Kept here for an hour; DeliverOutbox
-- applies and removes it. Reports on messages webcare never sent (the
-- business app's own) expire unused.
CREATE TABLE early_deliveries (
    channel_id  bigint      NOT NULL,
    platform_id text        NOT NULL,
    state       text        NOT NULL,
    error       text        NOT NULL DEFAULT '',
    at          timestamptz NOT NULL,
    PRIMARY KEY (channel_id, platform_id)
);
CREATE INDEX early_deliveries_at ON early_deliveries (at);
