//! Extracting code blocks from chat messages, the way AutoGen's executors see them:
//! fenced blocks with a language tag, untagged blocks classified by their content, and a
//! `# filename: name` first line honoured.

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};

use crate::executor::{CodeBlock, Language};

/// Every fenced code block in `message`, in order. Indented (unfenced) blocks are ignored:
/// models use them for prose examples, not for code meant to run.
pub fn extract_code_blocks(message: &str) -> Vec<CodeBlock> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    // Markdown parsing is delegated to pulldown-cmark so nested fences, `~~~` fences and
    // indented fences behave as in every renderer the user sees the message in.
    for event in Parser::new(message) {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let tag = info
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                current = Some((tag, String::new()));
            }
            Event::Text(text) => {
                if let Some((_, code)) = current.as_mut() {
                    code.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((tag, code)) = current.take()
                    && let Some(block) = make_block(&tag, &code)
                {
                    blocks.push(block);
                }
            }
            _ => {}
        }
    }
    blocks
}

fn make_block(tag: &str, code: &str) -> Option<CodeBlock> {
    // A lone CR ends a line too (CommonMark); pulldown-cmark keeps one that ends the
    // message inside an unclosed fence, and `pip install numpy\r` asks for `numpy\r`.
    let code = code.trim_end_matches(['\n', '\r']);
    if code.trim().is_empty() {
        return None;
    }
    let language = if tag.is_empty() {
        infer_language(code)
    } else {
        Language::from_tag(tag)
    };
    let filename = filename_hint(code);
    Some(CodeBlock {
        language,
        code: code.to_string(),
        filename,
    })
}

/// The blocks of `message` meant to be run: data and prose fences (` ```text `,
/// ` ```json `, output quoted back by a reviewer) and unclassifiable untagged blocks are not
/// code, and treating them as code would have the executor answer every quotation.
pub fn runnable_code_blocks(message: &str) -> Vec<CodeBlock> {
    const NOT_CODE: [&str; 16] = [
        "text",
        "txt",
        "plain",
        "plaintext",
        "output",
        "console-output",
        "json",
        "jsonl",
        "yaml",
        "yml",
        "toml",
        "csv",
        "md",
        "markdown",
        "log",
        "unknown",
    ];
    extract_code_blocks(message)
        .into_iter()
        .filter(|block| match &block.language {
            Language::Other(tag) => !NOT_CODE.contains(&tag.as_str()),
            _ => true,
        })
        .collect()
}

/// Classifies an untagged block. Like AutoGen: command lines (`pip install`, `python x.py`)
/// are shell; anything that reads like Python is Python; the rest is unknown and is not run.
pub fn infer_language(code: &str) -> Language {
    let first = code
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    const SHELL_STARTS: [&str; 12] = [
        "pip ", "pip3 ", "python ", "python3 ", "$ ", "ls", "cd ", "echo ", "cat ", "mkdir ",
        "apt", "#!/bin/",
    ];
    if SHELL_STARTS.iter().any(|s| first.starts_with(s)) {
        return Language::Shell;
    }
    let python_markers = [
        "import ",
        "from ",
        "def ",
        "print(",
        "class ",
        "for ",
        "if __name__",
        "# filename:",
    ];
    let looks_python = code
        .lines()
        .map(str::trim_start)
        .any(|l| python_markers.iter().any(|m| l.starts_with(m)))
        || first.contains(" = ");
    if looks_python {
        Language::Python
    } else {
        Language::Other("unknown".into())
    }
}

/// The file name from a `# filename: x.py` (or `// filename:`) first line.
fn filename_hint(code: &str) -> Option<String> {
    let first = code.lines().next()?.trim();
    let rest = first
        .strip_prefix('#')
        .or_else(|| first.strip_prefix("//"))?
        .trim();
    let name = rest.strip_prefix("filename:")?.trim();
    (!name.is_empty() && !name.contains(char::is_whitespace)).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_blocks_in_order() {
        let msg = "Plan:\n```python\nprint(1)\n```\nthen\n```bash\necho hi\n```\n";
        let blocks = extract_code_blocks(msg);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].language, Language::Python);
        assert_eq!(blocks[0].code, "print(1)");
        assert_eq!(blocks[1].language, Language::Shell);
        assert_eq!(blocks[1].code, "echo hi");
    }

    #[test]
    fn untagged_blocks_are_classified() {
        let blocks = extract_code_blocks(
            "```\npip install numpy\n```\n```\nimport math\nprint(math.pi)\n```\n```\nhello world\n```",
        );
        let langs: Vec<_> = blocks.iter().map(|b| b.language.clone()).collect();
        assert_eq!(
            langs,
            vec![
                Language::Shell,
                Language::Python,
                Language::Other("unknown".into())
            ]
        );
    }

    #[test]
    fn filename_comment_is_honoured() {
        let blocks = extract_code_blocks("```python\n# filename: fib.py\nprint(2)\n```");
        assert_eq!(blocks[0].filename.as_deref(), Some("fib.py"));
        let none = extract_code_blocks("```python\nprint(2)\n```");
        assert_eq!(none[0].filename, None);
    }

    #[test]
    fn prose_and_empty_blocks_yield_nothing() {
        assert!(extract_code_blocks("No code here. TERMINATE").is_empty());
        assert!(extract_code_blocks("```python\n\n```").is_empty());
        assert!(extract_code_blocks("    indented = 1\n").is_empty());
    }

    #[test]
    fn quoted_output_and_data_are_not_runnable() {
        let msg = "It printed:\n```text\n45\n```\n```json\n{}\n```\n```\nsome words\n```\n```javascript\nconsole.log(1)\n```";
        let runnable = runnable_code_blocks(msg);
        assert_eq!(runnable.len(), 1, "{runnable:?}");
        assert_eq!(runnable[0].language, Language::Other("javascript".into()));
    }

    #[test]
    fn trailing_carriage_return_is_not_code() {
        // Found by the codeblock fuzz target: a reply ending in a bare CR inside an
        // unclosed fence kept the CR on the last line.
        let blocks = extract_code_blocks("Run:\n```sh\npip install numpy\r");
        assert_eq!(blocks[0].code, "pip install numpy");
        let crlf = extract_code_blocks("```sh\r\necho hi\r\nls\r\n```\r\n");
        assert_eq!(crlf[0].code, "echo hi\nls");
    }

    #[test]
    fn tilde_fences_and_info_strings() {
        let blocks = extract_code_blocks("~~~py title=\"x\"\nx = 1\n~~~");
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].language, Language::Python);
    }
}
