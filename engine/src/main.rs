//! The `weft` command. Everything it does lives in the library's `cli` module.

/// mimalloc instead of the system allocator: the engine allocates many small short-lived
/// strings and rows per event (context reads lowered into plugins, statement results, JSON),
/// and with glibc's allocator that cost grew with the heap. Measured on the identity bench
/// (50,000 messages after 19,905 orders): 22.7 s with glibc, 17.1 s with mimalloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // SAFETY: the first statement of `main`: no other thread exists yet.
    #[allow(unsafe_code)]
    unsafe {
        weft::runtime::one_core_per_pass();
    }
    weft::cli::main()
}
