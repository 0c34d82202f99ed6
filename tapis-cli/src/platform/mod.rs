//! What the CLI does differently per operating system, one concern per module, each with one
//! signature for every platform (as std's `sys`); the rest of the CLI has no `cfg`.
//!
//! - [`hardening`]: no core dumps and no same-user memory reading of this process;
//! - [`exit_status`]: a finished command's exit code as a shell reports it (`exec`);
//! - [`interrupt`]: reading a line at a prompt, ended by Ctrl-C;
//! - [`terminal`]: reading a secret with echo off;
//! - [`stdin`]: reading standard input a byte at a time (`--password-stdin`).
//!
//! The token file's locking, permissions and replacement are the store's (`tapis-store`).

pub(crate) mod exit_status;
pub(crate) mod hardening;
pub(crate) mod interrupt;
pub(crate) mod stdin;
pub(crate) mod terminal;
