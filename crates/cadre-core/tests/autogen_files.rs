//! AutoGen AgentBuilder files: lossless import/export, export of native teams, and the
//! format detection and error messages of `parse_team_file`.

// Helpers outside #[test] fns are test code too; clippy only exempts the fns.
#![allow(clippy::unwrap_used, clippy::panic)]

use cadre_core::autogen::{export_autogen, import_autogen, parse_team_file};
use cadre_core::team::TeamError;
use cadre_core::{AgentSpec, SpeakerSelection, TeamSpec};
use serde_json::{Value, json};

const RESEARCH: &str = include_str!("fixtures/autogen_research_team.json");
const MINIMAL: &str = include_str!("fixtures/autogen_minimal.json");
const CADRE: &str = include_str!("fixtures/cadre_team.json");

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn format_error(text: &str) -> String {
    match parse_team_file(text) {
        Err(TeamError::Format(message)) => message,
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn autogen_fixtures_round_trip_exactly() {
    for text in [RESEARCH, MINIMAL] {
        let original = json(text);
        let team = import_autogen(&original).unwrap();
        assert_eq!(export_autogen(&team), original);
        // Through Cadre's own JSON too, as a saved team would go.
        let saved = serde_json::to_string(&team).unwrap();
        let reloaded = parse_team_file(&saved).unwrap();
        assert_eq!(export_autogen(&reloaded), original);
    }
}

#[test]
fn research_fixture_maps_to_a_team() {
    let team = parse_team_file(RESEARCH).unwrap();
    let names: Vec<&str> = team.agents.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Literature_Researcher",
            "Python_Programmer",
            "Industry_Analyst"
        ]
    );
    assert!(team.code_execution.enabled);
    assert_eq!(team.code_execution.last_n_messages, 2);
    assert_eq!(team.code_execution.timeout_secs, 60);
    assert_eq!(team.temperature, Some(0.0));
    assert_eq!(team.speaker_selection, SpeakerSelection::Auto);
    assert!(
        team.building_task
            .as_deref()
            .unwrap()
            .starts_with("Find the most cited")
    );
    assert_eq!(team.agents[0].model.as_deref(), Some("gpt-4-1106-preview"));
    assert_eq!(team.agents[2].model.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(
        team.agents[1].autogen_extra["retrieve_config"]["chunk_token_size"],
        1000
    );
    assert_eq!(team.autogen_extra["max_agents"], 5);
    assert_eq!(
        team.autogen_extra["manager_system_message"],
        "Group chat manager."
    );
    assert!(
        team.participants()
            .contains(&"Computer_terminal".to_string())
    );
}

#[test]
fn minimal_fixture_maps_to_a_team() {
    let team = parse_team_file(MINIMAL).unwrap();
    assert_eq!(team.agents.len(), 1);
    assert_eq!(team.agents[0].model.as_deref(), Some("gpt-4"));
    assert!(team.agents[0].autogen_extra.is_empty());
    assert!(!team.code_execution.enabled);
    assert_eq!(team.temperature, None);
    assert_eq!(team.name, "Write a haiku about autumn");
}

#[test]
fn cadre_files_are_detected() {
    let team = parse_team_file(CADRE).unwrap();
    assert_eq!(team.name, "Review squad");
    assert_eq!(team.speaker_selection, SpeakerSelection::RoundRobin);
    assert_eq!(team.termination.text_mention.as_deref(), Some("APPROVED"));
    assert_eq!(team.agents[1].model.as_deref(), Some("gpt-4o-mini"));
    assert!(team.autogen_extra.is_empty());
}

fn native_team() -> TeamSpec {
    let agent = |name: &str, model: Option<&str>| AgentSpec {
        model: model.map(str::to_string),
        ..AgentSpec::new(name, format!("You are {name}."), format!("{name} helps."))
    };
    let mut team = TeamSpec::new(
        "Data crew",
        vec![agent("Planner", None), agent("Coder", Some("gpt-4o"))],
    );
    team.building_task = Some("Chart the data.".into());
    team.code_execution.enabled = true;
    team.code_execution.timeout_secs = 45;
    team.default_model = Some("gpt-4o-mini".into());
    team.temperature = Some(0.7);
    team
}

#[test]
fn native_team_exports_a_valid_autogen_file() {
    let exported = export_autogen(&native_team());
    assert_eq!(
        exported,
        json!({
            "building_task": "Chart the data.",
            "name": "Data crew",
            "agent_configs": [
                {"name": "Planner", "model": "gpt-4o-mini", "system_message": "You are Planner.",
                 "description": "Planner helps."},
                {"name": "Coder", "model": "gpt-4o", "system_message": "You are Coder.",
                 "description": "Coder helps."}
            ],
            "coding": true,
            "default_llm_config": {"temperature": 0.7},
            "code_execution_config": {"last_n_messages": "auto", "work_dir": "groupchat",
                                      "use_docker": false, "timeout": 45}
        })
    );
    // And it reads back as the same team, as far as AutoGen can express it.
    let back = parse_team_file(&exported.to_string()).unwrap();
    assert_eq!(back.name, "Data crew");
    assert_eq!(back.agents[1].model.as_deref(), Some("gpt-4o"));
    assert_eq!(back.agents[0].model.as_deref(), Some("gpt-4o-mini"));
    assert!(back.code_execution.enabled);
    assert_eq!(back.code_execution.timeout_secs, 45);
    assert_eq!(back.temperature, Some(0.7));
}

#[test]
fn native_team_without_options_exports_defaults() {
    let mut team = native_team();
    team.default_model = None;
    team.temperature = None;
    team.building_task = None;
    team.code_execution = Default::default();
    let exported = export_autogen(&team);
    assert!(exported["agent_configs"][0].get("model").is_none());
    assert_eq!(exported["building_task"], "");
    assert_eq!(exported["coding"], false);
    assert_eq!(exported["default_llm_config"], json!({}));
    assert_eq!(exported["code_execution_config"]["timeout"], 30);
}

#[test]
fn code_execution_config_false_round_trips() {
    let original = json!({
        "building_task": "t",
        "agent_configs": [{"name": "A", "model": ["m"], "system_message": "s", "description": "d"}],
        "coding": false,
        "default_llm_config": {"temperature": 0.3},
        "code_execution_config": false
    });
    let team = import_autogen(&original).unwrap();
    assert_eq!(team.temperature, Some(0.3));
    assert_eq!(export_autogen(&team), original);
}

#[test]
fn bare_autogen_file_gets_the_missing_sections_on_export() {
    let team =
        parse_team_file(r#"{"agent_configs": [{"name": "A", "system_message": "You are A."}]}"#)
            .unwrap();
    assert_eq!(team.agents[0].description, "");
    let exported = export_autogen(&team);
    assert_eq!(exported["coding"], false);
    assert_eq!(exported["agent_configs"][0]["description"], "");
    assert!(exported["code_execution_config"].is_object());
}

#[test]
fn errors_are_clear_one_liners() {
    let cases: Vec<(&str, &str)> = vec![
        ("not json at all", "not valid JSON"),
        ("[1, 2]", "found a list"),
        (r#"{"team": []}"#, "unknown team format"),
        (r#"{"agent_configs": []}"#, "`agent_configs` is empty"),
        (r#"{"agents": []}"#, "`agents` is empty"),
        (r#"{"agent_configs": {}}"#, "`agent_configs` must be a list"),
        (
            r#"{"agent_configs": [{"system_message": "x"}]}"#,
            "agent_configs[0] is missing `name`",
        ),
        (
            r#"{"agent_configs": [{"name": "A", "system_message": "x"}, {"name": "B"}]}"#,
            "agent_configs[1] (`B`) is missing `system_message`",
        ),
        (
            r#"{"agents": [{"name": "A"}]}"#,
            "agents[0] (`A`) is missing `system_message`",
        ),
        (
            r#"{"agent_configs": [{"name": "Data Scientist", "system_message": "x"}]}"#,
            "invalid agent name `Data Scientist`",
        ),
        (
            r#"{"agent_configs": [{"name": "A", "system_message": "x"}, {"name": "A", "system_message": "y"}]}"#,
            "duplicate agent name `A`",
        ),
        (
            r#"{"agent_configs": [{"name": "A", "system_message": "x"}], "coding": "yes"}"#,
            "`coding` must be true or false",
        ),
        (
            r#"{"agent_configs": [{"name": "A", "system_message": 3}]}"#,
            "`system_message` must be a string",
        ),
        (
            r#"{"agents": [{"name": "A", "system_message": "x"}], "speaker_selection": {"method": "nope"}}"#,
            "invalid Cadre team",
        ),
    ];
    for (input, expected) in cases {
        let message = format_error(input);
        assert!(
            message.contains(expected),
            "{input}: `{message}` lacks `{expected}`"
        );
        assert!(!message.contains('\n'), "{message}");
    }
}

#[test]
fn byte_order_mark_is_accepted() {
    let with_bom = format!("\u{feff}{MINIMAL}");
    assert!(parse_team_file(&with_bom).is_ok());
}

#[test]
fn auto_last_n_messages_maps_both_ways() {
    let file = serde_json::json!({
        "building_task": "t",
        "agent_configs": [{"name": "A", "model": "m", "system_message": "s", "description": "d"}],
        "coding": true,
        "default_llm_config": {},
        "code_execution_config": {"last_n_messages": "auto", "work_dir": "groupchat", "use_docker": false, "timeout": 60}
    });
    let team = import_autogen(&file).unwrap();
    assert_eq!(
        team.code_execution.last_n_messages, 0,
        "auto scans everything since the executor spoke"
    );
    assert_eq!(export_autogen(&team), file);
}

#[test]
fn numbers_in_kept_fields_survive_export_and_reimport() {
    // Found by the autogen_import fuzz target: best-effort float parsing read 17
    // significant digits (as Python's json writes them) and very long integers one unit
    // in the last place off, so the exported file no longer held the original number.
    let text = r#"{"building_task": "t",
        "agent_configs": [{"name": "A", "model": [22222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222],
                           "system_message": "s", "description": "d"}],
        "coding": false,
        "default_llm_config": {"temperature": 0.7, "top_p": 0.12345678901234567},
        "code_execution_config": false}"#;
    let exported = export_autogen(&parse_team_file(text).unwrap());
    assert_eq!(
        exported["default_llm_config"]["top_p"].as_f64(),
        Some("0.12345678901234567".parse::<f64>().unwrap())
    );
    let reimported = parse_team_file(&exported.to_string()).unwrap();
    assert_eq!(export_autogen(&reimported), exported);
}
