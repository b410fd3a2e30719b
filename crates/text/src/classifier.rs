//! The spam classifier (being written).
