//! End-to-end tests: the real `stoq` binary, real plugin libraries loaded through the ABI.
//! Run them with `cargo xtask test`, which builds everything they use once.

mod after_scan;
mod cli;
mod compat;
mod declared;
mod dispatch;
mod filetype;
mod hostile;
mod isolation;
mod isolation_scale;
mod library;
mod loading;
mod options;
mod plugins;
mod redis;
mod run;
mod sample;
mod scan;
mod scenarios;
mod scheduler;
mod service;
mod third_party;
mod tree;
mod triage_exec_lnk;
mod triage_fuzzy;
mod triage_ole;
mod triage_pdf_rtf;
