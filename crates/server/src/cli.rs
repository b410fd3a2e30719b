//! Subcommands (being written).
