//! The `zegel` binary: everything lives in the library; see `zegel --help`.

fn main() -> std::process::ExitCode {
    zegel::cli::main()
}
