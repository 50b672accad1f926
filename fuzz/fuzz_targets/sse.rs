//! The streaming client's reading of a chat-completion body (server-sent events whose
//! `data:` lines are completion chunks), through `cadre_llm::openai::fuzzing::read_sse`,
//! the function the client itself reads responses with.
//!
//! Input: one byte `n` (mod 8), then `n` chunk lengths of one byte each, then the body.
//! The body is delivered in those chunks (the rest in a last one), so chunk boundaries
//! fall inside lines and UTF-8 sequences as TCP segments do. The outcome must not depend
//! on where the boundaries are, and a completion's text is exactly what was streamed.

#![no_main]

use std::convert::Infallible;
use std::sync::OnceLock;

use bytes::Bytes;
use cadre_core::{ChatResponse, ModelError};
use cadre_llm::openai::fuzzing::read_sse;
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    // The idle timeout needs Tokio's timer; a stream of ready chunks never fires it.
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a current-thread runtime")
    })
}

/// Splits `data` into its chunk lengths and body.
fn split(data: &[u8]) -> (Vec<usize>, &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return (Vec::new(), data);
    };
    let n = usize::from(n % 8).min(rest.len());
    let (lengths, body) = rest.split_at(n);
    (lengths.iter().map(|&l| usize::from(l)).collect(), body)
}

fn read(chunks: Vec<Bytes>) -> (Result<ChatResponse, ModelError>, String) {
    let mut streamed = String::new();
    let mut on_delta = |delta: &str| streamed.push_str(delta);
    let stream = futures::stream::iter(chunks.into_iter().map(Ok::<_, Infallible>));
    let result = runtime().block_on(read_sse(stream, &mut on_delta));
    (result, streamed)
}

fuzz_target!(|data: &[u8]| {
    let (lengths, body) = split(data);
    let mut chunks = Vec::new();
    let mut rest = body;
    for length in lengths {
        let (chunk, tail) = rest.split_at(length.min(rest.len()));
        chunks.push(Bytes::copy_from_slice(chunk));
        rest = tail;
    }
    chunks.push(Bytes::copy_from_slice(rest));

    let (split_result, split_streamed) = read(chunks);
    let (whole_result, whole_streamed) = read(vec![Bytes::copy_from_slice(body)]);
    assert_eq!(
        split_result, whole_result,
        "chunk boundaries changed the outcome"
    );
    assert_eq!(split_streamed, whole_streamed);
    if let Ok(response) = &whole_result {
        assert_eq!(
            response.content, whole_streamed,
            "content is not what was streamed"
        );
        // What every caller does with a response.
        let _ = response.usage.total_tokens();
    }
});
