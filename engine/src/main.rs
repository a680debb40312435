//! The `weft` command. Everything it does lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    // SAFETY: the first statement of `main`: no other thread exists yet.
    #[allow(unsafe_code)]
    unsafe {
        weft::runtime::one_core_per_pass();
    }
    weft::cli::main()
}
