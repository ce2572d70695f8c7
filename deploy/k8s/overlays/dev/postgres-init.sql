-- One database per service, all owned by PostgreSQL's POSTGRES_USER (the same file serves
-- deploy/compose.yaml and the dev overlay of deploy/k8s).
-- Runs once, when the PostgreSQL volume is empty.
CREATE DATABASE identity;
CREATE DATABASE patients;
CREATE DATABASE doctors;
CREATE DATABASE appointments;
CREATE DATABASE notifications;
CREATE DATABASE billing;
CREATE DATABASE records;
CREATE DATABASE analytics;
CREATE DATABASE web;
