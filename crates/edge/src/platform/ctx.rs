//! What a handler passes down instead of five separate arguments: the bindings, the database
//! and the public origin that links in notifications point at.

use worker::{D1Database, Env};

#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub env: &'a Env,
    pub db: &'a D1Database,
    /// `https://host` of the marketplace, for links in notifications.
    pub origin: &'a str,
}

/// Who moves a request, and why: recorded in its history.
#[derive(Debug, Clone, Copy)]
pub struct By<'a> {
    pub actor: &'a str,
    pub reason: Option<&'a str>,
}

impl<'a> By<'a> {
    pub fn new(actor: &'a str, reason: Option<&'a str>) -> Self {
        Self { actor, reason }
    }
}
