//! The forgiving parsers for model answers (`cadre_core::lenient`): never panic, and keep
//! the contracts their docs state (names are normalised and unique, at most `max`, JSON
//! is an object or an array, only blank text is `Empty`).

#![no_main]

use cadre_core::lenient::{
    LenientError, extract_json, normalize_name, parse_name_list, parse_yes_no,
};
use cadre_core::team::is_valid_agent_name;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let blank = text.trim().is_empty();

    match extract_json(text) {
        Ok(value) => assert!(
            value.is_object() || value.is_array(),
            "not an object or array: {value}"
        ),
        Err(e) => assert_eq!(e == LenientError::Empty, blank, "{e:?}"),
    }

    match parse_yes_no(text) {
        Ok(_) => assert!(!blank),
        Err(e) => assert_eq!(e == LenientError::Empty, blank, "{e:?}"),
    }

    if let Some(name) = normalize_name(text) {
        assert_name(&name);
    }

    let all = parse_name_list(text, 0);
    match &all {
        Ok(names) => {
            assert!(!names.is_empty());
            for (i, name) in names.iter().enumerate() {
                assert_name(name);
                assert!(
                    !names[..i].iter().any(|n| n.eq_ignore_ascii_case(name)),
                    "duplicate {name:?} in {names:?}"
                );
            }
        }
        Err(e) => assert_eq!(*e == LenientError::Empty, blank, "{e:?}"),
    }
    // `max` only truncates.
    for max in [1, 3] {
        let limited = parse_name_list(text, max);
        match (&all, &limited) {
            (Ok(all), Ok(limited)) => assert_eq!(&all[..all.len().min(max)], &limited[..]),
            (Err(a), Err(b)) => assert_eq!(a, b),
            _ => panic!("max {max} changed the outcome: {all:?} vs {limited:?}"),
        }
    }
});

/// What `normalize_name` produces: a valid agent name that normalises to itself.
fn assert_name(name: &str) {
    assert!(is_valid_agent_name(name), "invalid agent name {name:?}");
    assert_eq!(
        normalize_name(name).as_deref(),
        Some(name),
        "not normalised"
    );
}
