//! The Riposte runtime.
