//! The Riposte runtime. For now: loading a library from disk.
//!
//! Architecture Invariant: `riposte-dsl` never touches the file system; everything that reads
//! files lives here.

pub mod load;
pub mod workspace;

pub use load::{load_library, LoadError, Loaded};
