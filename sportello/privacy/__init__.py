"""Privacy: erasure on request and the retention purge. It spans conversations and the desk, so
it sits above both (they never import it); channels reach it through the use cases."""
