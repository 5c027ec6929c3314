"""Retrieval lab: document sets, chunking, BM25 + dense index, hybrid search."""
