//! `ratings`: a fan's 1-5 rating of a fulfilled request, once.

use super::{changes, statement};
use crate::platform::error::ApiResult;
use serde::{Deserialize, Serialize};
use worker::{D1Database, D1PreparedStatement};

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Rating {
    pub stars: i64,
    pub comment: Option<String>,
    pub at: i64,
}

/// Records the rating; false when the request was rated already.
#[derive(Clone, Copy)]
pub struct NewRating<'a> {
    pub request_id: &'a str,
    pub app_slug: &'a str,
    pub stars: u8,
    pub comment: Option<&'a str>,
}

pub async fn add(db: &D1Database, r: &NewRating<'_>, now: i64) -> ApiResult<bool> {
    let NewRating { request_id, app_slug, stars, comment } = *r;
    Ok(changes(
        db,
        "INSERT INTO ratings (request_id, app_slug, stars, comment, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING",
        &[request_id.into(), app_slug.into(), i64::from(stars).into(), comment.into(), now.into()],
    )
    .await?
        == 1)
}

/// A request's rating, as a query for `read_together` (`first_of` reads it).
pub fn of_request_query(db: &D1Database, request_id: &str) -> ApiResult<D1PreparedStatement> {
    statement(db, "SELECT stars, comment, at FROM ratings WHERE request_id = ?", &[request_id.into()])
}
