//! The sandbox connector (being written).
