//! The Riposte runtime: loading libraries, importing incidents, workspaces, the scheduler and
//! its executors, and plans.
//!
//! Architecture Invariant: `riposte-dsl` never touches the file system; everything that reads
//! files lives here.

#![deny(unsafe_code)]

pub mod backtest;
pub mod executor;
pub mod incident;
pub mod load;
pub mod plan;
pub mod scheduler;
pub mod testing;
pub mod workspace;
pub mod workspace_fit;

pub use load::{load_library, LoadError, Loaded};
