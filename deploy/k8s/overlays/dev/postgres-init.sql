-- One database per service, all owned by the compose file's PostgreSQL user (POSTGRES_USER).
-- Runs once, when the PostgreSQL volume is empty.
CREATE DATABASE identity;
CREATE DATABASE patients;
CREATE DATABASE doctors;
CREATE DATABASE appointments;
CREATE DATABASE notifications;
CREATE DATABASE billing;
CREATE DATABASE records;
CREATE DATABASE analytics;
