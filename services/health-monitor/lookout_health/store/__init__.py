"""The SQL the health monitor owns, one module per group of tables: `results` (check
results, the latest per check and location, response times), `incidents`
(incidents, their outbox and lifecycle, maintenance windows) and `locations` (the
verdict of each location and the quorum lock). Import the module you need."""
