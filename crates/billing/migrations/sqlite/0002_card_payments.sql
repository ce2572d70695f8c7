-- Card payments through the provider: the PaymentIntent a checkout made for an invoice (the
-- webhook pays the invoice only for this intent), and every provider event handled, so a
-- redelivered or replayed event changes nothing.
ALTER TABLE invoices ADD COLUMN payment_intent_id TEXT;

CREATE TABLE payment_events (
    event_id    TEXT   PRIMARY KEY,
    event_type  TEXT   NOT NULL,
    received_at BIGINT NOT NULL
);
