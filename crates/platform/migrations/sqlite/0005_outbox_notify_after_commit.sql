-- PostgreSQL's 0005 drops the trigger of 0004. SQLite had none. Kept so that both backends'
-- migrations stay in step.
SELECT 1;
