//! The generated host bindings of the `step` and `channel` worlds; nothing here leaves `runtime`.

/// The `step` world, with the interfaces every world shares.
pub(crate) mod step {
    wasmtime::component::bindgen!({
        world: "step",
        path: "../sdk/wit",
        imports: { default: async | trappable },
        exports: { default: async },
    });
}

/// The `channel` world, reusing the shared interfaces generated for [`step`].
pub(crate) mod channel {
    wasmtime::component::bindgen!({
        world: "channel",
        path: "../sdk/wit",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "weft:plugin/types": super::step::weft::plugin::types,
            "weft:plugin/log": super::step::weft::plugin::log,
            "weft:plugin/http": super::step::weft::plugin::http,
            "weft:plugin/secrets": super::step::weft::plugin::secrets,
            "weft:plugin/mail": super::step::weft::plugin::mail,
        },
    });
}
