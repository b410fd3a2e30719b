//! Wiring and graceful shutdown (being written).
