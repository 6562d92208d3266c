//! Tools for creators on stream: the OBS overlay (a browser source showing the queue).

pub mod overlay;
