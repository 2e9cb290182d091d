//! The Riposte language: gamebook and SOP documents, the expression DSL, the action catalog,
//! and the compiler from text to execution graphs.
//!
//! Pipeline: text → [`syntax`] (YAML with spans) → `lower` (typed AST, expressions parsed and
//! checked) → `check` (library-wide rules) → `graph` (petgraph execution graphs).
//!
//! Architecture Invariant: this crate does no I/O and starts no threads or async runtime; it
//! is handed text and returns data.

#![deny(unsafe_code)]

pub mod ast;
pub mod catalog;
pub mod checked;
pub mod codes;
pub mod compile;
pub mod diagnostic;
pub mod duration;
pub mod expr;
pub mod graph;
pub mod lower;
pub mod model;
pub mod schema;
pub mod snake;
pub mod source;
pub mod syntax;
pub mod text;
pub mod types;
pub mod value;

pub use codes::{Code, Severity};
pub use diagnostic::Diagnostic;
pub use source::{FileId, LineCol, SourceFile, SourceMap, Span};
