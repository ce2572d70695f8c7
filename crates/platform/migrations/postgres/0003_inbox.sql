-- Events a consumer of this database has handled, so a redelivered event is a no-op.
CREATE TABLE inbox (
    consumer   TEXT   NOT NULL,
    event_id   TEXT   NOT NULL,
    event_type TEXT   NOT NULL,
    handled_at BIGINT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX inbox_handled_at ON inbox (handled_at);

-- Events the in-process bus gave up on after repeated handler failures (RabbitMQ keeps its
-- own dead-letter queues); kept for an operator to inspect and replay.
CREATE TABLE dead_letters (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer   TEXT   NOT NULL,
    event_id   TEXT   NOT NULL,
    event_type TEXT   NOT NULL,
    payload    TEXT   NOT NULL,
    error      TEXT   NOT NULL,
    failed_at  BIGINT NOT NULL
);
