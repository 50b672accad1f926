//! Code-block extraction from chat messages (`cadre_core::codeblock`): never panics on any
//! text, every block is one a fence really holds, and the runnable blocks are exactly the
//! extracted ones minus data and prose fences.

#![no_main]

use cadre_core::codeblock::{extract_code_blocks, runnable_code_blocks};
use cadre_core::executor::{CodeBlock, Language};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = std::str::from_utf8(data) else {
        return;
    };
    let blocks = extract_code_blocks(message);
    let runnable = runnable_code_blocks(message);

    for block in &blocks {
        assert!(!block.code.trim().is_empty(), "empty block: {block:?}");
        assert!(
            !block.code.ends_with(['\n', '\r']),
            "trailing line break: {block:?}"
        );
        if let Some(name) = &block.filename {
            assert!(
                !name.is_empty() && !name.contains(char::is_whitespace),
                "bad filename: {block:?}"
            );
        }
        // pulldown-cmark turns a quoted CRLF into LF but keeps lone CRs, so a block
        // with CRs can come back with other line endings: its rules, not ours.
        if !block.code.contains('\r') {
            assert_requoted_is_same(block);
        }
    }

    // Runnable blocks are a subsequence of the extracted ones; only `Other` languages
    // (data, prose, unknown) are left out.
    let mut rest = blocks.iter();
    for block in &runnable {
        loop {
            let Some(candidate) = rest.next() else {
                panic!("runnable block not among the extracted ones: {block:?}");
            };
            if candidate == block {
                break;
            }
            assert!(
                matches!(candidate.language, Language::Other(_)),
                "a Python or shell block was left out of the runnable ones: {candidate:?}"
            );
        }
    }
    for block in rest {
        assert!(
            matches!(block.language, Language::Other(_)),
            "a Python or shell block was left out of the runnable ones: {block:?}"
        );
    }
});

/// A block quoted back in a fence of its own (as a reviewer would) is extracted unchanged.
fn assert_requoted_is_same(block: &CodeBlock) {
    // Tildes: a tilde fence's info string may hold any character, and one longer than
    // every tilde run in the code cannot be closed by the code.
    let longest = longest_run(&block.code, '~');
    let fence = "~".repeat(longest.max(2) + 1);
    // The space keeps a tag that starts with tildes out of the fence; the escapes keep
    // its backslashes and `&` from being read as escapes and entities again.
    let tag: String = block
        .language
        .as_str()
        .chars()
        .flat_map(|c| {
            c.is_ascii_punctuation()
                .then_some('\\')
                .into_iter()
                .chain([c])
        })
        .collect();
    let quoted = format!("{fence} {tag}\n{}\n{fence}\n", block.code);
    let again = extract_code_blocks(&quoted);
    assert_eq!(
        again,
        std::slice::from_ref(block),
        "re-quoted as:\n{quoted}"
    );
}

fn longest_run(text: &str, c: char) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for ch in text.chars() {
        run = if ch == c { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}
