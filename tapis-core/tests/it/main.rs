//! tapis-auth-core's integration tests: properties of the parsers over generated input.

mod properties;
