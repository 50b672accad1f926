//! Forgiving parsers for LLM output: JSON buried in prose or code fences (with trailing
//! commas, `//` comments, smart quotes), agent-name lists in whatever shape a model
//! chooses (JSON, numbered, bulleted, comma-separated), and YES/NO answers.
//!
//! Error messages are written to be fed back to the model on a retry, so they say what
//! was wrong in plain words.

use serde_json::Value;

/// Most characters an agent name may have (OpenAI's `name` field limit).
pub const MAX_NAME_LEN: usize = 64;

/// Names with more words than this are prose, not a role title.
const MAX_NAME_WORDS: usize = 4;

/// Bracket candidates tried before giving up, so adversarial input stays linear-ish.
const MAX_JSON_CANDIDATES: usize = 64;

/// Why an LLM answer could not be understood. The text is meant for the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LenientError {
    /// The answer was empty or only whitespace.
    #[error("the answer was empty")]
    Empty,
    /// No `{` or `[` anywhere in the answer.
    #[error("no JSON object or array was found in the answer")]
    NoJson,
    /// A JSON value was opened but never closed.
    #[error("the JSON starting with `{0}` is never closed (unbalanced brackets)")]
    Unclosed(char),
    /// Something bracket-shaped was found but it is not valid JSON, even after repairs.
    #[error("the JSON is invalid: {0}")]
    InvalidJson(String),
    /// No usable agent name was found.
    #[error("no agent names were found: {0}")]
    NoNames(String),
    /// The answer is not a clear yes or no.
    #[error("expected YES or NO, got: {0}")]
    NotYesNo(String),
}

/// Finds the first JSON object or array in `text` and parses it.
///
/// Looks inside ```` ```json ```` fences first, then anywhere in the text; matches
/// brackets while skipping strings; repairs trailing commas, `//` line comments, smart
/// quotes and single-quoted (Python-style) JSON when plain parsing fails.
pub fn extract_json(text: &str) -> Result<Value, LenientError> {
    if text.trim().is_empty() {
        return Err(LenientError::Empty);
    }
    let mut first_error: Option<LenientError> = None;
    let mut sources: Vec<String> = fenced_blocks(text);
    sources.push(text.to_string());
    let normalized = normalize_quotes(text);
    if normalized != text {
        sources.push(normalized);
    }
    for source in &sources {
        match extract_from(source) {
            Ok(value) => return Ok(value),
            Err(err) => {
                // Prefer the most informative error: an invalid or unclosed candidate says
                // more than "nothing found" in some other source.
                let better = match (&first_error, &err) {
                    (None, _) => true,
                    (Some(LenientError::NoJson), e) => *e != LenientError::NoJson,
                    _ => false,
                };
                if better {
                    first_error = Some(err);
                }
            }
        }
    }
    Err(first_error.unwrap_or(LenientError::NoJson))
}

/// Tries every opening bracket of `source` in order; the first candidate that parses wins.
fn extract_from(source: &str) -> Result<Value, LenientError> {
    let mut first_error: Option<LenientError> = None;
    let mut tried = 0;
    for (start, c) in source.char_indices() {
        if c != '{' && c != '[' {
            continue;
        }
        if tried >= MAX_JSON_CANDIDATES {
            break;
        }
        tried += 1;
        let err = match balanced_end(&source[start..]) {
            Some(len) => match parse_repaired(&source[start..start + len]) {
                Ok(value) => return Ok(value),
                Err(e) => LenientError::InvalidJson(e),
            },
            None => LenientError::Unclosed(c),
        };
        first_error.get_or_insert(err);
    }
    Err(first_error.unwrap_or(LenientError::NoJson))
}

/// Contents of the fenced code blocks of `text`, in order.
fn fenced_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            match current.take() {
                Some(block) => blocks.push(block),
                None => current = Some(String::new()),
            }
            continue;
        }
        if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    // An unclosed fence still holds the model's intended content.
    if let Some(block) = current {
        blocks.push(block);
    }
    blocks
}

/// Length in bytes of the balanced JSON value at the start of `s` (which begins with `{`
/// or `[`), or `None` if it is never closed or the brackets mismatch.
fn balanced_end(s: &str) -> Option<usize> {
    let mut stack: Vec<char> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => stack.push('}'),
            '[' => stack.push(']'),
            '}' | ']' => {
                if stack.pop() != Some(c) {
                    return None;
                }
                if stack.is_empty() {
                    return Some(i + c.len_utf8());
                }
            }
            _ => {}
        }
    }
    None
}

/// Parses `candidate`, repairing common model mistakes if plain parsing fails. The error
/// is the one of the plain parse, which points at the model's actual mistake.
fn parse_repaired(candidate: &str) -> Result<Value, String> {
    let original_error = match serde_json::from_str::<Value>(candidate) {
        Ok(value) => return Ok(value),
        Err(e) => e.to_string(),
    };
    let repaired = remove_trailing_commas(&strip_line_comments(candidate));
    if let Ok(value) = serde_json::from_str::<Value>(&repaired) {
        return Ok(value);
    }
    if !repaired.contains('"') && repaired.contains('\'') {
        let double_quoted = repaired.replace('\'', "\"");
        if let Ok(value) = serde_json::from_str::<Value>(&double_quoted) {
            return Ok(value);
        }
    }
    Err(original_error)
}

/// Replaces typographic double quotes with ASCII ones.
fn normalize_quotes(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{00AB}' | '\u{00BB}' => '"',
            '\u{2018}' | '\u{2019}' => '\'',
            other => other,
        })
        .collect()
}

/// Removes `//` comments that are outside strings.
fn strip_line_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if c == '/' && chars.peek() == Some(&'/') {
            for rest in chars.by_ref() {
                if rest == '\n' {
                    out.push('\n');
                    break;
                }
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        out.push(c);
    }
    out
}

/// Removes commas that are followed (after whitespace) by `}` or `]`, outside strings.
fn remove_trailing_commas(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut in_string = false;
    let mut escaped = false;
    for (i, &c) in chars.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            out.push(c);
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        if c == ',' {
            let next = chars[i + 1..].iter().find(|n| !n.is_whitespace());
            if matches!(next, Some('}') | Some(']')) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Turns free text into an agent name: whitespace becomes `_`, characters outside
/// `[A-Za-z0-9_-]` are dropped, runs of `_` collapse, at most [`MAX_NAME_LEN`] chars.
/// Returns `None` when nothing is left.
pub fn normalize_name(raw: &str) -> Option<String> {
    let mut out = String::new();
    for c in raw.trim().chars() {
        let mapped = if c.is_whitespace() || c == '.' || c == '/' {
            '_'
        } else if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            c
        } else {
            continue;
        };
        if mapped == '_' && (out.is_empty() || out.ends_with('_')) {
            continue;
        }
        out.push(mapped);
    }
    let trimmed = out.trim_matches(|c| c == '_' || c == '-');
    let truncated: String = trimmed.chars().take(MAX_NAME_LEN).collect();
    let truncated = truncated.trim_end_matches(['_', '-']);
    if truncated.is_empty() {
        None
    } else {
        Some(truncated.to_string())
    }
}

/// Parses a list of agent names from a model answer, keeping at most `max` (0 means no
/// limit).
///
/// Accepts a JSON array of strings or of objects with a `name`, an object holding such
/// an array (`{"agents": [...]}`), numbered or bulleted lists, one name per line, or
/// comma-separated names. Markdown decoration, quotes and trailing descriptions
/// (`- Coder: writes code`) are removed; names are normalised with [`normalize_name`]
/// and deduplicated case-insensitively, first occurrence wins.
pub fn parse_name_list(text: &str, max: usize) -> Result<Vec<String>, LenientError> {
    if text.trim().is_empty() {
        return Err(LenientError::Empty);
    }
    // JSON that yields no names (`- Coder [1]`) may just be brackets in a text list.
    let (mut names, json_error) = match extract_json(text).map(|v| names_from_json(&v)) {
        Ok(Ok(raw)) => (clean_names(raw), None),
        Ok(Err(e)) => (Vec::new(), Some(e)),
        Err(_) => (Vec::new(), None),
    };
    if names.is_empty() {
        let (items, listed) = names_from_text(text);
        names = clean_names(items);
        // Without JSON or list markers, a comma or a line break is all that separates
        // names from conversation ("no names here, sorry"): only role-shaped words count.
        if !listed {
            names.retain(|name| is_role_shaped(name));
        }
    }
    if names.is_empty() {
        return Err(json_error.unwrap_or_else(|| {
            LenientError::NoNames(
                "expected a JSON array of role names such as [\"Data_Analyst\", \"Python_Developer\"]"
                    .into(),
            )
        }));
    }
    if max > 0 {
        names.truncate(max);
    }
    Ok(names)
}

/// Cleans raw items into names, deduplicated case-insensitively (first wins).
fn clean_names(raw: Vec<String>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for item in raw {
        if let Some(name) = clean_name_item(&item)
            && !names.iter().any(|n| n.eq_ignore_ascii_case(&name))
        {
            names.push(name);
        }
    }
    names
}

/// Keys under which models put the list of names.
const LIST_KEYS: [&str; 6] = ["agents", "names", "experts", "agent_names", "team", "roles"];

/// Raw name strings from a JSON answer.
fn names_from_json(value: &Value) -> Result<Vec<String>, LenientError> {
    match value {
        Value::Array(items) => {
            let mut names = Vec::new();
            for item in items {
                match item {
                    Value::String(s) => names.push(s.clone()),
                    Value::Object(obj) => {
                        if let Some(Value::String(s)) = obj
                            .get("name")
                            .or_else(|| obj.get("agent_name"))
                            .or_else(|| obj.get("role"))
                        {
                            names.push(s.clone());
                        }
                    }
                    _ => {}
                }
            }
            Ok(names)
        }
        Value::Object(obj) => {
            for key in LIST_KEYS {
                let found = obj
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v);
                match found {
                    Some(Value::String(s)) => return Ok(names_from_text(s).0),
                    Some(inner @ (Value::Array(_) | Value::Object(_))) => {
                        return names_from_json(inner);
                    }
                    _ => {}
                }
            }
            if let Some(Value::String(s)) = obj.get("name") {
                return Ok(vec![s.clone()]);
            }
            // `{"Coder": "writes code", ...}`: the keys are the names.
            if !obj.is_empty() && obj.values().all(|v| v.is_string() || v.is_object()) {
                return Ok(obj.keys().cloned().collect());
            }
            Err(LenientError::NoNames(
                "the JSON object has no `agents` array; reply with a JSON array of names".into(),
            ))
        }
        _ => Err(LenientError::NoNames(
            "the JSON is not an array of names".into(),
        )),
    }
}

/// Raw name strings from a plain-text answer.
/// Whether every word of a name starts with a capital or a digit (`Data_Analyst`,
/// `QA-Engineer`, `SQL_Expert`), as role names do and conversation does not.
fn is_role_shaped(name: &str) -> bool {
    name.split(['_', '-'])
        .filter(|word| !word.is_empty())
        .all(|word| word.starts_with(|c: char| c.is_ascii_uppercase() || c.is_ascii_digit()))
}

/// Raw items of a plain-text answer, and whether they came from list markers.
fn names_from_text(text: &str) -> (Vec<String>, bool) {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("```"))
        .collect();
    let listed: Vec<String> = lines
        .iter()
        .filter_map(|l| strip_list_marker(l))
        .map(str::to_string)
        .collect();
    if !listed.is_empty() {
        return (listed, true);
    }
    let mut items = Vec::new();
    for line in lines {
        // A line that introduces a list ("Here are the experts:") is not a name.
        if line.ends_with(':') {
            continue;
        }
        if line.contains(',') || line.contains(';') {
            items.extend(line.split([',', ';']).map(str::to_string));
        } else {
            items.push(line.to_string());
        }
    }
    (items, false)
}

/// The item text of a numbered (`1.`, `2)`) or bulleted (`-`, `*`, `•`, `+`) list line.
fn strip_list_marker(line: &str) -> Option<&str> {
    for bullet in ["- ", "* ", "• ", "+ ", "– "] {
        if let Some(rest) = line.strip_prefix(bullet) {
            return Some(rest);
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 {
        let rest = &line[digits..];
        for sep in [". ", ") ", ": ", ".", ")"] {
            if let Some(item) = rest.strip_prefix(sep) {
                return Some(item);
            }
        }
    }
    None
}

/// One raw item to a normalised name: decoration and trailing descriptions removed;
/// `None` for prose or nothing usable.
fn clean_name_item(item: &str) -> Option<String> {
    let mut s = item.trim().to_string();
    for marker in ["**", "__", "`", "\"", "“", "”", "'"] {
        s = s.replace(marker, "");
    }
    let s = s.trim();
    let s = s.trim_start_matches(['*', '-', '#', '•', '+']).trim();
    let mut end = s.len();
    for sep in [":", " - ", " – ", " — ", "(", "[", " = "] {
        if let Some(i) = s.find(sep) {
            end = end.min(i);
        }
    }
    let head = s[..end].trim().trim_end_matches(['.', ',', ';']);
    if head.split_whitespace().count() > MAX_NAME_WORDS
        || !head.chars().any(|c| c.is_ascii_alphabetic())
    {
        return None;
    }
    normalize_name(head)
}

/// Parses a yes/no decision: `YES`, `no.`, `**Yes**, because…`, `true`, or JSON such as
/// `{"coding": true}` / `{"answer": "no"}`.
pub fn parse_yes_no(text: &str) -> Result<bool, LenientError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(LenientError::Empty);
    }
    if let Ok(value) = extract_json(trimmed)
        && let Some(answer) = yes_no_from_json(&value)
    {
        return Ok(answer);
    }
    let words: Vec<String> = trimmed
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let classify = |w: &str| match w {
        "yes" | "true" | "y" => Some(true),
        "no" | "false" | "n" => Some(false),
        _ => None,
    };
    if let Some(first) = words.first().and_then(|w| classify(w)) {
        return Ok(first);
    }
    let found: Vec<bool> = words.iter().filter_map(|w| classify(w)).collect();
    match (found.contains(&true), found.contains(&false)) {
        (true, false) => Ok(true),
        (false, true) => Ok(false),
        _ => Err(LenientError::NotYesNo(preview(trimmed))),
    }
}

/// A decision inside a JSON answer.
fn yes_no_from_json(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "true" | "y" => Some(true),
            "no" | "false" | "n" => Some(false),
            _ => None,
        },
        Value::Object(obj) => {
            for key in [
                "coding",
                "answer",
                "needs_code",
                "code",
                "decision",
                "result",
            ] {
                if let Some(answer) = obj.get(key).and_then(yes_no_from_json) {
                    return Some(answer);
                }
            }
            if obj.len() == 1 {
                return obj.values().next().and_then(yes_no_from_json);
            }
            None
        }
        Value::Array(items) if items.len() == 1 => yes_no_from_json(&items[0]),
        _ => None,
    }
}

/// The start of an answer, for error messages.
fn preview(text: &str) -> String {
    const MAX: usize = 80;
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > MAX {
        let cut: String = one_line.chars().take(MAX).collect();
        format!("\"{cut}…\"")
    } else {
        format!("\"{one_line}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_plain_and_in_prose() {
        assert_eq!(extract_json(r#"{"a": 1}"#).unwrap(), json!({"a": 1}));
        assert_eq!(
            extract_json("Sure! Here you go: [\"A\", \"B\"] Hope it helps.").unwrap(),
            json!(["A", "B"])
        );
    }

    #[test]
    fn json_in_fence_with_trailing_commas_and_comments() {
        let text = "Here:\n```json\n{\n  \"agents\": [\"A\", \"B\",], // the team\n}\n```\nDone.";
        assert_eq!(extract_json(text).unwrap(), json!({"agents": ["A", "B"]}));
    }

    #[test]
    fn json_brackets_inside_strings_are_ignored() {
        let text = r#"Result: {"msg": "use } and ] freely", "n": [1, 2]} trailing ]"#;
        assert_eq!(
            extract_json(text).unwrap(),
            json!({"msg": "use } and ] freely", "n": [1, 2]})
        );
    }

    #[test]
    fn json_escaped_quotes_in_strings() {
        let text = r#"{"q": "say \"hi\" {", "ok": true}"#;
        assert_eq!(
            extract_json(text).unwrap(),
            json!({"q": "say \"hi\" {", "ok": true})
        );
    }

    #[test]
    fn json_skips_bracketed_prose_before_the_real_value() {
        let text = "The experts [see below] are: [\"Coder\", \"Critic\"]";
        assert_eq!(extract_json(text).unwrap(), json!(["Coder", "Critic"]));
    }

    #[test]
    fn json_smart_and_single_quotes() {
        assert_eq!(
            extract_json("{“coding”: “yes”}").unwrap(),
            json!({"coding": "yes"})
        );
        assert_eq!(extract_json("['A', 'B']").unwrap(), json!(["A", "B"]));
    }

    #[test]
    fn json_errors_say_what_is_wrong() {
        assert_eq!(extract_json("   "), Err(LenientError::Empty));
        assert_eq!(extract_json("no json here"), Err(LenientError::NoJson));
        assert_eq!(
            extract_json("{\"a\": [1, 2"),
            Err(LenientError::Unclosed('{'))
        );
        let err = extract_json("{a: b c}").unwrap_err();
        assert!(matches!(err, LenientError::InvalidJson(_)), "{err:?}");
        assert!(err.to_string().starts_with("the JSON is invalid"));
        assert!(matches!(
            extract_json("{ ]").unwrap_err(),
            LenientError::Unclosed('{')
        ));
    }

    #[test]
    fn names_from_json_shapes() {
        assert_eq!(
            parse_name_list(r#"["Data_Scientist", "Coder"]"#, 5).unwrap(),
            vec!["Data_Scientist", "Coder"]
        );
        assert_eq!(
            parse_name_list(r#"{"agents": ["A", "B"]}"#, 5).unwrap(),
            vec!["A", "B"]
        );
        assert_eq!(
            parse_name_list(
                r#"[{"name": "Planner", "role": "x"}, {"name": "Critic"}]"#,
                5
            )
            .unwrap(),
            vec!["Planner", "Critic"]
        );
        assert_eq!(
            parse_name_list(r#"{"Coder": "writes code", "Tester": "tests"}"#, 5).unwrap(),
            vec!["Coder", "Tester"]
        );
    }

    #[test]
    fn names_from_lists() {
        let numbered = "Here are the experts:\n1. Data_Scientist\n2. **Python Coder** - writes code\n3) `Critic`";
        assert_eq!(
            parse_name_list(numbered, 5).unwrap(),
            vec!["Data_Scientist", "Python_Coder", "Critic"]
        );
        let bulleted = "- Coder: writes code\n* \"Reviewer\" (checks work)\n• Planner";
        assert_eq!(
            parse_name_list(bulleted, 5).unwrap(),
            vec!["Coder", "Reviewer", "Planner"]
        );
    }

    #[test]
    fn names_comma_separated_and_per_line() {
        assert_eq!(
            parse_name_list("Data_Scientist, Coder, Critic.", 5).unwrap(),
            vec!["Data_Scientist", "Coder", "Critic"]
        );
        assert_eq!(
            parse_name_list("- Coder [1]\n- Critic [2]", 5).unwrap(),
            vec!["Coder", "Critic"]
        );
        assert_eq!(
            parse_name_list("Planner\nCoder\n", 5).unwrap(),
            vec!["Planner", "Coder"]
        );
    }

    #[test]
    fn names_are_normalised_deduped_and_truncated() {
        assert_eq!(
            parse_name_list(
                r#"["Data Scientist", "data_scientist", "Coder!", "C++ Dev", "x"]"#,
                3
            )
            .unwrap(),
            vec!["Data_Scientist", "Coder", "C_Dev"]
        );
        let long = "A".repeat(100);
        let names = parse_name_list(&format!("[\"{long}\"]"), 0).unwrap();
        assert_eq!(names[0].len(), MAX_NAME_LEN);
    }

    #[test]
    fn conversation_is_not_a_list_of_names() {
        assert!(parse_name_list("no names here, sorry", 5).is_err());
        assert!(parse_name_list("Sure thing", 5).is_err());
        assert_eq!(
            parse_name_list("Planner, Data Analyst, SQL_Expert", 5).unwrap(),
            ["Planner", "Data_Analyst", "SQL_Expert"]
        );
        // Lists and JSON stay lenient about case.
        assert_eq!(
            parse_name_list("- coder\n- critic", 5).unwrap(),
            ["coder", "critic"]
        );
        assert_eq!(parse_name_list(r#"["coder"]"#, 5).unwrap(), ["coder"]);
    }

    #[test]
    fn names_garbage_is_an_error() {
        assert_eq!(parse_name_list("", 3), Err(LenientError::Empty));
        assert!(matches!(
            parse_name_list("!!! ??? ...", 3),
            Err(LenientError::NoNames(_))
        ));
        assert!(matches!(
            parse_name_list(
                "I am sorry but I cannot really help with this particular request today",
                3
            ),
            Err(LenientError::NoNames(_))
        ));
        assert!(matches!(
            parse_name_list("[1, 2, 3]", 3),
            Err(LenientError::NoNames(_))
        ));
    }

    #[test]
    fn yes_no_shapes() {
        assert_eq!(parse_yes_no("YES"), Ok(true));
        assert_eq!(parse_yes_no("no."), Ok(false));
        assert_eq!(parse_yes_no("**Yes**, the task needs code."), Ok(true));
        assert_eq!(parse_yes_no("The answer is NO"), Ok(false));
        assert_eq!(parse_yes_no(r#"{"coding": true}"#), Ok(true));
        assert_eq!(
            parse_yes_no("```json\n{\"answer\": \"no\"}\n```"),
            Ok(false)
        );
        assert_eq!(parse_yes_no("false"), Ok(false));
    }

    #[test]
    fn yes_no_garbage_is_an_error() {
        assert_eq!(parse_yes_no(" "), Err(LenientError::Empty));
        assert!(matches!(
            parse_yes_no("maybe, it depends"),
            Err(LenientError::NotYesNo(_))
        ));
        assert!(matches!(
            parse_yes_no("Well: yes and no"),
            Err(LenientError::NotYesNo(_))
        ));
    }
}
