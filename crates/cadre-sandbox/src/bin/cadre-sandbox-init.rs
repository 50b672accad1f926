//! A minimal sandbox init (see `cadre_sandbox::init`) for programs and tests that embed
//! the bubblewrap backend without the `cadre` binary.

fn main() {
    cadre_sandbox::init::run_if_requested();
    std::process::exit(2);
}
