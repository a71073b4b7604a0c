//! The `scaleproof` command line.

fn main() {}
