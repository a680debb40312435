//! The guest side of the `channel` world: what [`crate::export_channel!`] expands to call.

use super::convert::*;
use crate::model as m;
use crate::plugin::{Channel, PluginInfo, config_problems, config_schema, parse_config};
use crate::plugin::{Host, LogLevel};
use crate::wit::channel::weft::plugin::cache;
use crate::wit::common::weft::plugin::types as w;

/// The guest side of [`Host`] for channels: the shared imports (`mail` among them), and the
/// mount's `cache`.
struct ChannelHost;

impl Host for ChannelHost {
    fn fetch(&self, request: &m::HttpRequest) -> Result<m::HttpResponse, String> {
        GuestHost.fetch(request)
    }
    fn secret(&self, name: &str) -> Result<String, String> {
        GuestHost.secret(name)
    }
    fn log(&self, level: LogLevel, message: &str) {
        GuestHost.log(level, message)
    }
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        GuestHost.embed(texts)
    }
    fn submit_mail(&self, envelope: &m::MailEnvelope, message: &[u8]) -> Result<String, m::SubmitError> {
        GuestHost.submit_mail(envelope, message)
    }
    fn cache_get(&self, key: &str) -> Option<Vec<u8>> {
        cache::get(key)
    }
    fn cache_set(&self, key: &str, value: &[u8], ttl: std::time::Duration) {
        cache::set(key, value, u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
    }
}

pub fn channel_info<C: Channel>(package: &str, version: &str) -> w::PluginInfo {
    info_to(PluginInfo {
        name: plugin_name(package),
        version: version.to_owned(),
        description: C::DESCRIPTION.to_owned(),
        config_schema: config_schema::<C::Config>(),
    })
}

pub fn channel_check_config<C: Channel>(config: String) -> Vec<w::ConfigProblem> {
    config_problems::<C::Config>(&config, C::check_config)
        .into_iter()
        .map(problem_to)
        .collect()
}

pub fn channel_verify<C: Channel>(inbound: w::Inbound, config: String) -> Result<(), w::PluginError> {
    let config: C::Config = parse_config(&config).map_err(error_to)?;
    C::verify(&inbound_from(inbound), &config, &ChannelHost).map_err(error_to)
}

pub fn channel_handshake<C: Channel>(
    request: w::HandshakeRequest,
    config: String,
) -> Result<Option<w::HandshakeResponse>, w::PluginError> {
    let config: C::Config = parse_config(&config).map_err(error_to)?;
    let request = m::HandshakeRequest {
        hook: request.hook,
        query: request.query,
        headers: request.headers,
        target: request.target,
    };
    let response = C::handshake(&request, &config, &ChannelHost).map_err(error_to)?;
    Ok(response.map(|r| w::HandshakeResponse {
        status: r.status,
        content_type: r.content_type,
        body: r.body,
    }))
}

pub fn channel_parse<C: Channel>(inbound: w::Inbound, config: String) -> Result<Vec<w::Item>, w::PluginError> {
    let config: C::Config = parse_config(&config).map_err(error_to)?;
    let items = C::parse_items(&inbound_from(inbound), &config).map_err(error_to)?;
    Ok(items.into_iter().map(item_to).collect())
}

pub fn channel_poll<C: Channel>(cursor: Option<String>, config: String) -> Result<Option<w::Polled>, w::PluginError> {
    let config: C::Config = parse_config(&config).map_err(error_to)?;
    let polled = C::poll(cursor.as_deref(), &config, &ChannelHost).map_err(error_to)?;
    Ok(polled.map(|polled| w::Polled {
        items: polled.items.into_iter().map(item_to).collect(),
        cursor: polled.cursor,
    }))
}

pub fn channel_notices<C: Channel>(inbound: w::Inbound, config: String) -> Result<Vec<w::Notice>, w::PluginError> {
    let config: C::Config = parse_config(&config).map_err(error_to)?;
    let notices = C::notices(&inbound_from(inbound), &config).map_err(error_to)?;
    Ok(notices.into_iter().map(notice_to).collect())
}

pub fn channel_deliver<C: Channel>(outbound: w::Outbound, config: String) -> Result<w::Delivery, w::PluginError> {
    let config: C::Config = parse_config(&config).map_err(error_to)?;
    let outbound = m::Outbound {
        key: outbound.key,
        to: outbound.to,
        thread: outbound.thread,
        subject: outbound.subject,
        body: outbound.body,
        lang: outbound.lang,
        last_inbound_at: outbound.last_inbound_at,
        automatic: outbound.automatic,
        replying_to: outbound.replying_to.map(inbound_from),
    };
    let delivery = C::deliver(&outbound, &config, &ChannelHost).map_err(error_to)?;
    Ok(w::Delivery {
        external_id: delivery.external_id,
    })
}

/// Exports a [`Channel`] implementation as the plugin's `channel` world.
#[macro_export]
macro_rules! export_channel {
    ($channel:ty) => {
        #[doc(hidden)]
        pub struct __WeftChannelExport;

        impl $crate::wit::channel::Guest for __WeftChannelExport {
            fn info() -> $crate::wit::channel::PluginInfo {
                $crate::wit::channel_info::<$channel>(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
            }
            fn check_config(config: $crate::wit::channel::Json) -> ::std::vec::Vec<$crate::wit::channel::ConfigProblem> {
                $crate::wit::channel_check_config::<$channel>(config)
            }
            fn verify(
                inbound: $crate::wit::channel::Inbound,
                config: $crate::wit::channel::Json,
            ) -> ::core::result::Result<(), $crate::wit::channel::PluginError> {
                $crate::wit::channel_verify::<$channel>(inbound, config)
            }
            fn handshake(
                request: $crate::wit::channel::HandshakeRequest,
                config: $crate::wit::channel::Json,
            ) -> ::core::result::Result<::core::option::Option<$crate::wit::channel::HandshakeResponse>, $crate::wit::channel::PluginError> {
                $crate::wit::channel_handshake::<$channel>(request, config)
            }
            fn parse(
                inbound: $crate::wit::channel::Inbound,
                config: $crate::wit::channel::Json,
            ) -> ::core::result::Result<::std::vec::Vec<$crate::wit::channel::Item>, $crate::wit::channel::PluginError> {
                $crate::wit::channel_parse::<$channel>(inbound, config)
            }
            fn poll_updates(
                cursor: ::core::option::Option<::std::string::String>,
                config: $crate::wit::channel::Json,
            ) -> ::core::result::Result<::core::option::Option<$crate::wit::channel::Polled>, $crate::wit::channel::PluginError> {
                $crate::wit::channel_poll::<$channel>(cursor, config)
            }
            fn notices(
                inbound: $crate::wit::channel::Inbound,
                config: $crate::wit::channel::Json,
            ) -> ::core::result::Result<::std::vec::Vec<$crate::wit::channel::Notice>, $crate::wit::channel::PluginError> {
                $crate::wit::channel_notices::<$channel>(inbound, config)
            }
            fn deliver(
                outbound: $crate::wit::channel::Outbound,
                config: $crate::wit::channel::Json,
            ) -> ::core::result::Result<$crate::wit::channel::Delivery, $crate::wit::channel::PluginError> {
                $crate::wit::channel_deliver::<$channel>(outbound, config)
            }
        }

        $crate::wit::channel::__export_channel_world!(__WeftChannelExport with_types_in $crate::wit::channel);
    };
}
