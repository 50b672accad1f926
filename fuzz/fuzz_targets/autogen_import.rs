//! Team files (`cadre_core::autogen`): `parse_team_file` never panics on any text, and the
//! AutoGen mapping keeps what its docs promise: an AutoGen file exports back exactly,
//! an imported team survives an export and re-import, and an exported file is a fixed
//! point of import and export.

#![no_main]

use cadre_core::TeamSpec;
use cadre_core::autogen::{export_autogen, import_autogen, parse_team_file};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(team) = parse_team_file(text) else {
        return;
    };
    let exported = export_autogen(&team);

    // Whatever the source format, an exported file round-trips exactly.
    let reimported = import_autogen(&exported).expect("an exported file imports");
    assert_eq!(
        export_autogen(&reimported),
        exported,
        "export is not a fixed point"
    );

    let original: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .expect("parse_team_file accepted it");
    if original.get("agent_configs").is_none() {
        // A Cadre team: AutoGen has no place for speaker selection, termination, the
        // admin name or tools, and the exported names may then clash with AutoGen's
        // defaults, so only the import above is promised.
        return;
    }

    let again = parse_team_file(&exported.to_string()).expect("an exported AutoGen team is valid");
    assert_same_team(&team, &again);
    if written_by_autogen(&original) {
        assert_eq!(
            exported, original,
            "an AutoGen file did not export back exactly"
        );
    }
});

/// `again` is `team` after an export and import: the same except for the sections export
/// adds when the file had none (`building_task`, `default_llm_config`,
/// `code_execution_config`).
fn assert_same_team(team: &TeamSpec, again: &TeamSpec) {
    let added = [
        "building_task",
        "default_llm_config",
        "code_execution_config",
    ];
    for (key, value) in &team.autogen_extra {
        assert_eq!(again.autogen_extra.get(key), Some(value), "lost `{key}`");
    }
    for key in again.autogen_extra.keys() {
        assert!(
            team.autogen_extra.contains_key(key) || added.contains(&key.as_str()),
            "export added `{key}`"
        );
    }
    let mut expected = team.clone();
    expected.autogen_extra = again.autogen_extra.clone();
    if team.building_task.is_none() && !team.autogen_extra.contains_key("building_task") {
        expected.building_task = Some(String::new());
    }
    assert_eq!(&expected, again);
}

/// Whether the file has every section AutoGen's `save()` writes, in the types it writes
/// them: the files for which the module promises an exact round trip.
fn written_by_autogen(file: &Value) -> bool {
    let is_string = |v: &Value, key: &str| v.get(key).is_some_and(Value::is_string);
    let agents_ok = file["agent_configs"].as_array().is_some_and(|agents| {
        agents.iter().all(|a| {
            is_string(a, "name") && is_string(a, "system_message") && is_string(a, "description")
        })
    });
    agents_ok
        && is_string(file, "building_task")
        && file.get("coding").is_some_and(Value::is_boolean)
        && file.get("default_llm_config").is_some()
        && file.get("code_execution_config").is_some()
}
