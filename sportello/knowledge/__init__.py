"""Knowledge base: loading, chunking, embeddings, dense and lexical indexes, retrieval, ingest."""
