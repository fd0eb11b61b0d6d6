//! Config files.

pub mod docker_args;
pub mod syntax;
