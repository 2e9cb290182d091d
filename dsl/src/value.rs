//! Runtime values of the expression language.
