//! Azure Resource Manager client (under construction).
