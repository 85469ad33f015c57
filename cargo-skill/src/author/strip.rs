//! Drops custom sections a skill does not need at run time (debug info,
//! producers, target features), in the component and every module nested
//! in it. Names stay: they make traps readable.

use anyhow::Result;
use wasm_encoder::{ComponentSectionId, Encode, Section};
use wasmparser::{Encoding, Parser, Payload};

const KEPT: [&str; 2] = ["name", "component-name"];

pub fn strip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut output = Vec::new();
    let mut stack = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        match &payload {
            Payload::Version { encoding, .. } => {
                output.extend_from_slice(match encoding {
                    Encoding::Component => &wasm_encoder::Component::HEADER,
                    Encoding::Module => &wasm_encoder::Module::HEADER,
                });
            }
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => {
                stack.push(std::mem::take(&mut output));
                continue;
            }
            Payload::End { .. } => {
                let Some(mut parent) = stack.pop() else { break };
                let id = if output.starts_with(&wasm_encoder::Component::HEADER) {
                    ComponentSectionId::Component
                } else {
                    ComponentSectionId::CoreModule
                };
                parent.push(id as u8);
                output.encode(&mut parent);
                output = parent;
            }
            Payload::CustomSection(section) if !KEPT.contains(&section.name()) => continue,
            _ => {}
        }
        if let Some((id, range)) = payload.as_section() {
            wasm_encoder::RawSection {
                id,
                data: &bytes[range],
            }
            .append_to(&mut output);
        }
    }
    Ok(output)
}
