"""Staff-managed desks and experts: records, deactivation with booking decisions, demo removal."""
