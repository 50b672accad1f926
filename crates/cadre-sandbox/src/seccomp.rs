//! The seccomp filter sandboxed code runs under: which system calls it may not make,
//! compiled to the classic-BPF program bubblewrap installs (`--seccomp FD`) just before
//! it `exec`s the code.
//!
//! The filter is a deny list on top of the namespaces, not an allow list: generated code
//! runs arbitrary Python, whose needs are too wide to enumerate, while the calls below
//! are the ones container runtimes block because they reach the kernel's most exposed
//! surfaces (tracing, mounting, keyrings, eBPF, loading kernel code) or open a network
//! other than local Unix sockets. A denied call fails with `EPERM`, which code and error
//! messages understand, instead of killing the process.
//!
//! Compiled with `seccompiler` (the rust-vmm crate Firecracker uses); the program's
//! byte layout is the kernel's `struct sock_filter` array, which is what bubblewrap
//! reads from the descriptor.

use std::collections::BTreeMap;

use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
    TargetArch,
};

/// System calls denied outright, with the name the limits report uses.
fn denied_calls() -> Vec<(&'static str, i64)> {
    let mut calls = vec![
        ("ptrace", libc::SYS_ptrace),
        ("process_vm_readv", libc::SYS_process_vm_readv),
        ("process_vm_writev", libc::SYS_process_vm_writev),
        ("mount", libc::SYS_mount),
        ("umount2", libc::SYS_umount2),
        ("pivot_root", libc::SYS_pivot_root),
        ("chroot", libc::SYS_chroot),
        ("open_tree", libc::SYS_open_tree),
        ("move_mount", libc::SYS_move_mount),
        ("fsopen", libc::SYS_fsopen),
        ("fsconfig", libc::SYS_fsconfig),
        ("fsmount", libc::SYS_fsmount),
        ("fspick", libc::SYS_fspick),
        ("mount_setattr", libc::SYS_mount_setattr),
        ("unshare", libc::SYS_unshare),
        ("setns", libc::SYS_setns),
        ("keyctl", libc::SYS_keyctl),
        ("add_key", libc::SYS_add_key),
        ("request_key", libc::SYS_request_key),
        ("bpf", libc::SYS_bpf),
        ("userfaultfd", libc::SYS_userfaultfd),
        ("perf_event_open", libc::SYS_perf_event_open),
        ("kexec_load", libc::SYS_kexec_load),
        ("kexec_file_load", libc::SYS_kexec_file_load),
        ("init_module", libc::SYS_init_module),
        ("finit_module", libc::SYS_finit_module),
        ("delete_module", libc::SYS_delete_module),
        ("open_by_handle_at", libc::SYS_open_by_handle_at),
        ("name_to_handle_at", libc::SYS_name_to_handle_at),
        ("fanotify_init", libc::SYS_fanotify_init),
        ("io_uring_setup", libc::SYS_io_uring_setup),
        ("io_uring_enter", libc::SYS_io_uring_enter),
        ("io_uring_register", libc::SYS_io_uring_register),
        ("acct", libc::SYS_acct),
        ("quotactl", libc::SYS_quotactl),
        ("swapon", libc::SYS_swapon),
        ("swapoff", libc::SYS_swapoff),
        ("reboot", libc::SYS_reboot),
        ("syslog", libc::SYS_syslog),
        ("settimeofday", libc::SYS_settimeofday),
        ("clock_settime", libc::SYS_clock_settime),
        ("clock_adjtime", libc::SYS_clock_adjtime),
        ("adjtimex", libc::SYS_adjtimex),
        ("vhangup", libc::SYS_vhangup),
    ];
    #[cfg(target_arch = "x86_64")]
    calls.extend([
        ("iopl", libc::SYS_iopl),
        ("ioperm", libc::SYS_ioperm),
        ("uselib", libc::SYS_uselib),
    ]);
    calls
}

/// The calls whose socket family is checked: only `AF_UNIX` is allowed.
fn socket_calls() -> [(&'static str, i64); 2] {
    [
        ("socket", libc::SYS_socket),
        ("socketpair", libc::SYS_socketpair),
    ]
}

/// What the filter denies, for the limits report.
pub(crate) fn describe() -> String {
    let names: Vec<&str> = [
        "ptrace",
        "mount",
        "keyctl",
        "bpf",
        "userfaultfd",
        "perf_event_open",
    ]
    .into_iter()
    .collect();
    format!(
        "seccomp: {} system calls denied with EPERM ({}, kexec, module loading, io_uring, namespaces…); \
         sockets other than AF_UNIX refused",
        denied_calls().len() + socket_calls().len(),
        names.join(", ")
    )
}

/// Why the filter could not be built (an unsupported architecture, or a rule the
/// compiler rejects).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the seccomp filter: {0}")]
pub(crate) struct FilterError(String);

/// The filter as the bytes of a `struct sock_filter` array in native byte order.
pub(crate) fn program_bytes() -> Result<Vec<u8>, FilterError> {
    let arch = TargetArch::try_from(std::env::consts::ARCH)
        .map_err(|e| FilterError(format!("architecture {}: {e}", std::env::consts::ARCH)))?;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = denied_calls()
        .into_iter()
        .map(|(_, nr)| (nr, Vec::new()))
        .collect();
    for (_, nr) in socket_calls() {
        let not_unix = SeccompCondition::new(
            0,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::Ne,
            libc::AF_UNIX as u64,
        )
        .and_then(|condition| SeccompRule::new(vec![condition]))
        .map_err(|e| FilterError(e.to_string()))?;
        rules.insert(nr, vec![not_unix]);
    }
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|e| FilterError(e.to_string()))?;
    let program: seccompiler::BpfProgram = filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| FilterError(e.to_string()))?;
    let mut bytes = Vec::with_capacity(program.len() * 8);
    for instruction in x32_guard().iter().chain(&program) {
        bytes.extend_from_slice(&instruction.code.to_ne_bytes());
        bytes.push(instruction.jt);
        bytes.push(instruction.jf);
        bytes.extend_from_slice(&instruction.k.to_ne_bytes());
    }
    Ok(bytes)
}

/// On x86_64, x32-ABI system calls carry the same audit architecture with bit 30 set
/// in the number, so a deny list keyed by x86_64 numbers would not see them: refuse
/// every x32 call before the compiled filter runs. (Nothing in the sandbox is x32.)
fn x32_guard() -> Vec<seccompiler::sock_filter> {
    if !cfg!(target_arch = "x86_64") {
        return Vec::new();
    }
    const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const BPF_JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
    const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    let instruction = |code, jt, jf, k| seccompiler::sock_filter { code, jt, jf, k };
    vec![
        // seccomp_data.nr is at offset 0.
        instruction(BPF_LD_W_ABS, 0, 0, 0),
        instruction(BPF_JGE_K, 0, 1, X32_SYSCALL_BIT),
        instruction(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | libc::EPERM as u32),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_compiles_to_whole_instructions() {
        let bytes = program_bytes().unwrap();
        assert_eq!(bytes.len() % 8, 0);
        // The kernel refuses programs over 4096 instructions.
        assert!(bytes.len() / 8 < 4096, "{} instructions", bytes.len() / 8);
    }

    #[test]
    fn the_report_names_what_the_issue_requires() {
        let text = describe();
        for name in [
            "ptrace",
            "mount",
            "keyctl",
            "bpf",
            "userfaultfd",
            "perf_event_open",
            "kexec",
            "module",
        ] {
            assert!(text.contains(name), "{text}");
        }
        let denied: Vec<&str> = denied_calls().into_iter().map(|(n, _)| n).collect();
        for name in [
            "kexec_load",
            "init_module",
            "finit_module",
            "delete_module",
            "umount2",
        ] {
            assert!(denied.contains(&name), "{name} missing");
        }
    }
}
