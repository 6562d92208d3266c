//! What one request cost the platform: D1 round trips and queue sends, counted where they
//! happen. Local development reports them in a `Server-Timing` header, so the benchmark counts
//! them instead of guessing. An isolate may interleave requests, so counts are exact only for
//! one request at a time.

use std::cell::Cell;

thread_local! {
    static D1_ROUND_TRIPS: Cell<u32> = const { Cell::new(0) };
    static QUEUE_SENDS: Cell<u32> = const { Cell::new(0) };
}

pub fn d1_round_trip() {
    D1_ROUND_TRIPS.with(|c| c.set(c.get() + 1));
}

pub fn queue_send() {
    QUEUE_SENDS.with(|c| c.set(c.get() + 1));
}

/// Starts counting for a new request.
pub fn reset() {
    D1_ROUND_TRIPS.with(|c| c.set(0));
    QUEUE_SENDS.with(|c| c.set(0));
}

/// `d1;desc="3 round trips", queue;desc="1 send"`.
pub fn server_timing() -> String {
    let (d1, queue) = (D1_ROUND_TRIPS.with(Cell::get), QUEUE_SENDS.with(Cell::get));
    format!("d1;desc=\"{d1} round trips\", queue;desc=\"{queue} sends\"")
}
