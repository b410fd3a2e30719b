//! The outbox delivery loop (being written).
