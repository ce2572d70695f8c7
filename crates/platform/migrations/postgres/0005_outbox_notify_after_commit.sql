-- The relay is no longer woken by a NOTIFY inside the transaction that wrote the event:
-- PostgreSQL serialises the commits of every notifying transaction, cluster-wide, until each
-- one's commit record is flushed. The committing process wakes its own relay after the commit,
-- and notifies the other instances from outside the transaction (platform::events::wake).
DROP TRIGGER IF EXISTS outbox_notify ON outbox;
DROP FUNCTION IF EXISTS outbox_notify();
