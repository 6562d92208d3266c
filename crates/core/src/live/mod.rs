//! Tools for creators who are live: the OBS overlay's view of the queue.

pub mod overlay;
