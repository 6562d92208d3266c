//! Trust, as every Worker applies it: creator authentication, fans' tokens, sign-in (OAuth
//! and email links), limits and block lists, and review decisions.

pub mod auth;
pub mod fans;
pub mod limits;
pub mod review;
pub mod signin;
