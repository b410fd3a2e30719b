//! The HTTP router (being written).

pub mod sandbox;
