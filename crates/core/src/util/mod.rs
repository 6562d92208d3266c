//! Small pieces written out rather than pulled in as crates (each would cost wasm bytes).

pub mod base64;
pub mod time;
