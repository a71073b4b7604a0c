//! scaleproof: prove, with evidence anyone can look at, that an ML inference service scales
//! out under real load.
