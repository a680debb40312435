//! The generated bindings and the conversions between them and the [`crate::model`] types.
//!
//! Plugin code never names anything here: it implements [`crate::Step`] or [`crate::Channel`]
//! and calls [`crate::export_step!`] or [`crate::export_channel!`].

#![allow(missing_docs, clippy::all)]

/// Types and the imports every world shares, generated once.
pub mod common {
    wit_bindgen::generate!({
        world: "common",
        path: "wit",
        generate_all,
    });
}

/// The `step` world.
pub mod step {
    wit_bindgen::generate!({
        world: "step",
        path: "wit",
        with: {
            "weft:plugin/types@0.6.0": crate::wit::common::weft::plugin::types,
            "weft:plugin/log@0.6.0": crate::wit::common::weft::plugin::log,
            "weft:plugin/http@0.6.0": crate::wit::common::weft::plugin::http,
            "weft:plugin/secrets@0.6.0": crate::wit::common::weft::plugin::secrets,
            "weft:plugin/mail@0.6.0": crate::wit::common::weft::plugin::mail,
        },
        pub_export_macro: true,
        export_macro_name: "__export_step_world",
        default_bindings_module: "weft_sdk::wit::step",
    });
}

/// The `channel` world.
pub mod channel {
    wit_bindgen::generate!({
        world: "channel",
        path: "wit",
        with: {
            "weft:plugin/types@0.6.0": crate::wit::common::weft::plugin::types,
            "weft:plugin/log@0.6.0": crate::wit::common::weft::plugin::log,
            "weft:plugin/http@0.6.0": crate::wit::common::weft::plugin::http,
            "weft:plugin/secrets@0.6.0": crate::wit::common::weft::plugin::secrets,
            "weft:plugin/mail@0.6.0": crate::wit::common::weft::plugin::mail,
        },
        pub_export_macro: true,
        export_macro_name: "__export_channel_world",
        default_bindings_module: "weft_sdk::wit::channel",
    });
}

mod convert;
mod glue_channel;
mod glue_step;

pub use convert::GuestHost;
pub use glue_channel::{
    channel_check_config, channel_deliver, channel_handshake, channel_info, channel_notices, channel_parse,
    channel_poll, channel_verify,
};
pub use glue_step::{step_check_config, step_decide, step_info};
