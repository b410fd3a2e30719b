//! The sandbox page and its API (being written).
