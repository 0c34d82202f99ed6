//! Integration tests of `tapis-auth` against mockito servers on loopback: the HTTP client
//! (`TapisClient`), the login flow (`connect`, `logout`, `Session`), and the async API and
//! `TokenProvider` inside a tokio runtime.
//!
//! Every mock states how many requests it expects (`.expect(n)`, `0` for "no request") and
//! is asserted. Each mock server also has catch-all mocks created first that expect no
//! request, so a request nobody expected fails the test instead of getting mockito's 501.

mod client;
mod flow;
mod flow_edges;
mod identity;
mod keep_alive;
mod redaction;
mod runtime;
mod safety;
mod sdk;
mod settings;
mod support;
mod threads;
mod time;
