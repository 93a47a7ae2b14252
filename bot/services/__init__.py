"""Use cases: each runs inside one unit of work and enqueues the messages it causes."""
