//! The `secrets` capability: named secrets granted to the step (or to the channel, in the
//! channels file), read from the host environment (`WEFT_SECRET_<NAME>`).

use crate::runtime::bindings::step::weft::plugin::secrets as wit;
use crate::runtime::call::{GrantedBy, Grants};
use crate::runtime::state::CallState;

/// What the `secrets` import of one call may read.
pub(crate) struct SecretsState {
    /// Everything granted to the call; its `secrets` may be read.
    pub grants: Grants,
    pub step: String,
    pub granted_by: GrantedBy,
}

/// The environment variable a secret is read from: `WEFT_SECRET_` and the name uppercased, every
/// character that is not an ASCII letter or digit replaced by `_`.
pub fn env_var(name: &str) -> String {
    let mut var = String::from("WEFT_SECRET_");
    var.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        }
    }));
    var
}

/// The message a refused secret gets: what to add to the workflow or the channels file, as the
/// whole `allow:` that grants it beside what `grants` grant already.
pub(crate) fn denial(name: &str, step: &str, by: GrantedBy, grants: &Grants) -> String {
    let mut wanted = grants.clone();
    wanted.secrets.push(name.to_owned());
    by.denial(&format!("secret `{name}`"), step, name, grants, &wanted)
}

/// The borrowed view the generated `secrets` host trait is implemented on.
pub(crate) struct SecretsView<'a> {
    state: &'a SecretsState,
    denials: &'a mut Vec<String>,
}

impl wit::Host for SecretsView<'_> {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, String>> {
        if !self.state.grants.secrets.contains(&name) {
            let message = denial(&name, &self.state.step, self.state.granted_by, &self.state.grants);
            self.denials.push(message.clone());
            return Ok(Err(message));
        }
        let var = env_var(&name);
        Ok(std::env::var(&var).map_err(|_| {
            format!(
                "secret `{name}` is granted to {} but not configured: set {var}",
                self.state.granted_by.who(&self.state.step)
            )
        }))
    }
}

struct SecretsData;

impl wasmtime::component::HasData for SecretsData {
    type Data<'a> = SecretsView<'a>;
}

/// Links the `secrets` import.
pub(crate) fn add_to_linker(linker: &mut wasmtime::component::Linker<CallState>) -> wasmtime::Result<()> {
    wit::add_to_linker::<CallState, SecretsData>(linker, |state| SecretsView {
        state: &state.secrets,
        denials: &mut state.denials,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_var_names() {
        assert_eq!(env_var("api_token"), "WEFT_SECRET_API_TOKEN");
        assert_eq!(env_var("shopify.key-eu"), "WEFT_SECRET_SHOPIFY_KEY_EU");
        assert_eq!(env_var("schlüssel"), "WEFT_SECRET_SCHL_SSEL");
    }

    #[test]
    fn denials_say_where_to_grant() {
        let none = Grants::default();
        assert_eq!(
            denial("token", "notify", GrantedBy::Workflow, &none),
            "secret `token` is not allowed for step `notify`: add `allow: { secrets: [token] }` to the step"
        );
        assert_eq!(
            denial("shop_signing", "shop-de", GrantedBy::ChannelsFile, &none),
            "secret `shop_signing` is not allowed for channel `shop-de`: add `allow: { secrets: [shop_signing] }` to channel `shop-de` in the channels file"
        );
        let some = Grants {
            http_hosts: vec!["api.example.com".into()],
            secrets: vec!["shop_signing".into()],
            embeddings: false,
            smtp: None,
        };
        assert_eq!(
            denial("shop_token", "shop-de", GrantedBy::ChannelsFile, &some),
            "secret `shop_token` is not allowed for channel `shop-de`: add shop_token to channel `shop-de` in the channels file: `allow: { http: [api.example.com], secrets: [shop_signing, shop_token] }`"
        );
    }
}
