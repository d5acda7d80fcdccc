//! The `luxsim` binary: everything is in `luxsim::cli`.

fn main() -> std::process::ExitCode {
    luxsim::cli::main()
}
