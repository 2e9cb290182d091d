//! The incident model: the record types expressions navigate.
