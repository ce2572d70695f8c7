-- PostgreSQL's 0004 adds a trigger that wakes the outbox relay at commit. SQLite has no
-- NOTIFY, and needs none: every writer runs in the relay's process, which signals it in memory
-- (platform::events::wake). Kept so that both backends' migrations stay in step.
SELECT 1;
