"""The offline engine: runs the real program for a stack under Pulumi mocks and records the graph."""
