//! The song-request micro-app: its manifest is the whole difference from any other app.

use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    fanline_edge::app::serve(fanline_edge::manifest!(), req, env).await
}
