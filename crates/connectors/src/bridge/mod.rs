//! The HTTP bridge connector. (Being written: wire format, decoding, the connector.)

mod config;

pub use config::BridgeConfig;
