//! The expression language (filled in by the expression module).
