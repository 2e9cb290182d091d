//! The `riposte` command line's library half: rendering diagnostics for people and tools.
//! The binary (`src/main.rs`) parses arguments and calls into this, the compiler
//! (`riposte-dsl`) and the runtime (`riposte-engine`).

#![deny(unsafe_code)]

pub mod render;
