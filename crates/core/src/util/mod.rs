//! Small pieces written out rather than pulled in as crates (each would cost wasm bytes):
//! base64, RFC 3339 times, and version tags (ETags).

pub mod base64;
pub mod time;
pub mod version;
