//! Trust, as every Worker applies it: creator authentication, fans' tokens, sign-in (OAuth
//! and email links), limits and block lists.

pub mod auth;
pub mod fans;
pub mod limits;
pub mod signin;
