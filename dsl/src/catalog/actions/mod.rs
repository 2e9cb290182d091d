//! One file per action.

use super::ActionSpec;

pub(super) static ALL: &[ActionSpec] = &[];
