//! The adapter to the official Tapis SDK crates (`tapis-jobs`, `tapis-authenticator`, ...):
//! their service clients take an `Arc<dyn tapis_core::TokenProvider>` (the SDK's own
//! `tapis-core` crate, renamed `tapis-sdk-core` here) and ask it for a new token when the one
//! they hold is about to expire.

use crate::provider::TokenProvider;

#[async_trait::async_trait]
impl tapis_sdk_core::TokenProvider for TokenProvider {
    /// A token with at least the options' `min_valid` left, renewed if needed; `None` when no
    /// token can be had (the SDK then sends the request with the token it holds).
    async fn get_token(&self) -> Option<String> {
        let token = self.token(self.options().min_valid).await.ok()?;
        Some(token.expose_secret().to_owned())
    }
}
