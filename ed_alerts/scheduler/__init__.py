"""Background jobs (APScheduler) and the leader lock that lets only one process run them at a time."""
