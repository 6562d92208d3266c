//! Small pieces written out rather than pulled in as crates (each would cost wasm bytes):
//! base64, RFC 3339 times, version tags (ETags), what `Cache-Control` lets a shared cache keep,
//! and the host and origin of a URL.

pub mod base64;
pub mod cache_control;
pub mod origin;
pub mod time;
pub mod version;
