//! mcp-audit: audits the MCP servers an agent is configured to use, before it talks to them.
//! Each module is one stage of the pipeline; `Finding` is the only value that crosses them.

pub mod approve;
pub mod capture;
pub mod config;
pub mod finding;
pub mod input;
pub mod json;
pub mod lockfile;
pub mod output;
pub mod policy;
pub mod registry;
pub mod report;
pub mod rules;
pub mod sandbox;
pub mod scan;
