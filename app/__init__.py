"""Baton's application layer: wires connectors, rules, store, workers and the web service together."""
