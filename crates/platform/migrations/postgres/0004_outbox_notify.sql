-- Wakes the outbox relay (LISTEN carebook_outbox) when a transaction that wrote to the outbox
-- commits, instead of leaving the rows to its next poll. One notification per statement; the
-- notifications of one transaction collapse into one.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('carebook_outbox', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
