//! The capability-gated host calls as values: what a skill asked for
//! ([`CapabilityCall`]), what it got ([`CapabilityReply`]), or what ended it
//! ([`HostTrap`]). [`PolicyHost`] answers them against one invocation's
//! [`Policy`]; it runs in the host process both for in-process invocations
//! and, through the broker, for sandboxed workers, which hold no authority.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::capabilities::files::{self, FileError, Root, RootKind};
use crate::capabilities::grants::{Capability, CapabilityDenied, Policy};
use crate::capabilities::http::{self, HostPattern, HttpError, Method};
use crate::outcome::HostCall;

/// Longest argument echoed into a denial message (URLs, paths, names).
const MAX_DETAIL: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "call")]
pub enum CapabilityCall {
    RecallMemory {
        query: String,
        limit: u32,
    },
    HttpGet {
        url: String,
    },
    HttpPost {
        url: String,
        body: String,
    },
    /// A core module's `http_request`: any final status comes back, with its
    /// body; the capability is `http-get` or `http-post` by method.
    HttpExchange {
        method: Method,
        url: String,
        body: Option<String>,
    },
    ReadFile {
        path: String,
    },
    WriteFile {
        path: String,
        content: String,
    },
    GetSecret {
        name: String,
    },
    ReadEnv {
        name: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CapabilityReply {
    /// `recall-memory`; a provider failure is a warning for the log.
    Memories {
        items: Vec<String>,
        warning: Option<String>,
    },
    /// `http-*`, `read-file`, `get-secret`, `read-env`: the guest's result.
    Text(Result<String, String>),
    /// `write-file`.
    Written(Result<(), String>),
    /// [`CapabilityCall::HttpExchange`]: the response, or why none came.
    Response(Result<HttpResponse, String>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
}

/// Ends the invocation from inside a host call.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostTrap {
    Denied {
        capability: Capability,
        call: String,
        reason: Option<String>,
    },
    /// Still waiting (on a slow server) when the deadline passed.
    Deadline { function: String },
}

/// Raised by a host function blocked past the invocation's deadline (a slow
/// HTTP server): the invocation ends as a timeout.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the skill ran past its deadline while waiting for `{0}`")]
pub(crate) struct DeadlineReached(pub(crate) String);

impl From<HostTrap> for wasmtime::Error {
    fn from(trap: HostTrap) -> wasmtime::Error {
        match trap {
            HostTrap::Denied {
                capability,
                call,
                reason,
            } => CapabilityDenied {
                capability,
                call,
                reason,
            }
            .into(),
            HostTrap::Deadline { function } => DeadlineReached(function).into(),
        }
    }
}

/// Answers capability calls for one invocation.
pub(crate) trait Capabilities: Send {
    fn call(&mut self, call: CapabilityCall) -> Result<CapabilityReply, HostTrap>;
    /// The calls answered so far (allowed and denied, per function).
    fn take_calls(&mut self) -> Vec<HostCall>;
}

/// Host calls counted per function and outcome, in first-call order.
#[derive(Debug, Default)]
pub(crate) struct CallLog(Vec<HostCall>);

impl CallLog {
    pub(crate) fn record(&mut self, function: &str, allowed: bool) {
        match self
            .0
            .iter_mut()
            .find(|c| c.function == function && c.allowed == allowed)
        {
            Some(call) => call.count += 1,
            None => self.0.push(HostCall {
                function: function.to_string(),
                allowed,
                count: 1,
            }),
        }
    }

    pub(crate) fn take(&mut self) -> Vec<HostCall> {
        std::mem::take(&mut self.0)
    }
}

/// Adds `more` into `calls`, summing counts of the same function and outcome.
pub(crate) fn merge_calls(calls: &mut Vec<HostCall>, more: Vec<HostCall>) {
    for call in more {
        match calls
            .iter_mut()
            .find(|c| c.function == call.function && c.allowed == call.allowed)
        {
            Some(existing) => existing.count += call.count,
            None => calls.push(call),
        }
    }
}

/// The in-process answer to capability calls: the policy decides, the
/// capability modules do the work.
pub(crate) struct PolicyHost {
    policy: Arc<Policy>,
    bot_slug: String,
    skill_name: String,
    deadline: Instant,
    calls: CallLog,
    http_requests: u32,
    written_bytes: u64,
}

impl PolicyHost {
    pub(crate) fn new(
        policy: Arc<Policy>,
        bot_slug: &str,
        skill_name: &str,
        deadline: Instant,
    ) -> PolicyHost {
        let mut calls = CallLog::default();
        for folder in &policy.pinned_now {
            calls.record(&format!("pinned-folder:{}", folder.display()), true);
        }
        PolicyHost {
            policy,
            bot_slug: bot_slug.to_string(),
            skill_name: skill_name.to_string(),
            deadline,
            calls,
            http_requests: 0,
            written_bytes: 0,
        }
    }

    fn allowed(&mut self, capability: Capability, reply: CapabilityReply) -> CapabilityReply {
        self.calls.record(capability.as_str(), true);
        reply
    }

    /// Records the denial and returns the trap that ends the invocation;
    /// `reason` says why a granted capability still refused this call.
    fn deny(&mut self, capability: Capability, detail: &str, reason: Option<String>) -> HostTrap {
        self.calls.record(capability.as_str(), false);
        let shown: String = detail.chars().take(MAX_DETAIL).collect();
        let cut = if shown.len() < detail.len() {
            "…"
        } else {
            ""
        };
        HostTrap::Denied {
            capability,
            call: format!("{capability}({shown}{cut})"),
            reason,
        }
    }

    fn http(
        &mut self,
        capability: Capability,
        url: &str,
        body: Option<&str>,
    ) -> Result<CapabilityReply, HostTrap> {
        let text = |r: Result<HttpResponse, String>| CapabilityReply::Text(r.map(|r| r.body));
        self.exchange(capability, url, body, false, text)
    }

    /// One request under the grants and limits; `any_status` keeps a non-2xx
    /// answer as a response (core modules see the status) rather than an error.
    fn exchange(
        &mut self,
        capability: Capability,
        url: &str,
        body: Option<&str>,
        any_status: bool,
        reply: impl FnOnce(Result<HttpResponse, String>) -> CapabilityReply,
    ) -> Result<CapabilityReply, HostTrap> {
        let scopes: Vec<HostPattern> = self
            .policy
            .grants
            .scopes(capability)
            .filter_map(|scope| match scope {
                None => Some(HostPattern::any()),
                // Unparseable scopes were reported by validation; they match nothing.
                Some(scope) => HostPattern::parse(scope).ok(),
            })
            .collect();
        if scopes.is_empty() {
            return Err(self.deny(capability, url, None));
        }
        let limits = self.policy.http;
        if self.http_requests >= limits.max_requests {
            return Ok(self.allowed(
                capability,
                reply(Err(format!(
                    "request limit reached: at most {} HTTP requests per invocation",
                    limits.max_requests
                ))),
            ));
        }
        self.http_requests += 1;
        let method = match capability {
            Capability::HttpPost => Method::Post,
            _ => Method::Get,
        };
        let request = http::Request { method, url, body };
        let cx = http::Context {
            scopes: &scopes,
            limits: &limits,
            deadline: self.deadline,
            fixtures: self.policy.http_fixtures.as_deref(),
            recorder: self.policy.http_recorder.as_deref(),
        };
        let answered = http::exchange(&cx, request).and_then(|(status, body)| {
            let body = match any_status {
                true => body,
                false => http::success_body(status, body)?,
            };
            Ok(HttpResponse { status, body })
        });
        match answered {
            Ok(response) => Ok(self.allowed(capability, reply(Ok(response)))),
            Err(HttpError::Failed(message)) => Ok(self.allowed(capability, reply(Err(message)))),
            Err(HttpError::Denied(why)) => Err(self.deny(capability, url, Some(why))),
            Err(HttpError::Deadline) => {
                self.calls.record(capability.as_str(), true);
                Err(HostTrap::Deadline {
                    function: capability.as_str().to_string(),
                })
            }
        }
    }

    /// Checks a file call against the grants: the folder it lies beneath,
    /// what kind of folder that is, and the path relative to it.
    fn file_path(
        &mut self,
        capability: Capability,
        path: &str,
    ) -> Result<(PathBuf, RootKind, PathBuf), HostTrap> {
        let scopes: Vec<Option<&str>> = self.policy.grants.scopes(capability).collect();
        if scopes.is_empty() {
            return Err(self.deny(capability, path, None));
        }
        match files::checked_path(path, &scopes) {
            Ok((Root::HostFolder(folder), relative)) => {
                let pinned = self.policy.pinned_folders.get(&folder).copied();
                Ok((folder, RootKind::Host(pinned), relative))
            }
            Ok((Root::DataFolder, relative)) => match self.policy.data_dir.clone() {
                Some(root) => Ok((root, RootKind::Data, relative)),
                None => Err(self.deny(capability, path, None)),
            },
            Err(FileError::Denied(why) | FileError::Failed(why)) => {
                Err(self.deny(capability, path, Some(why)))
            }
        }
    }

    fn file_result<T>(
        &mut self,
        capability: Capability,
        path: &str,
        result: Result<T, FileError>,
        reply: impl FnOnce(Result<T, String>) -> CapabilityReply,
    ) -> Result<CapabilityReply, HostTrap> {
        match result {
            Ok(value) => Ok(self.allowed(capability, reply(Ok(value)))),
            Err(FileError::Failed(message)) => Ok(self.allowed(capability, reply(Err(message)))),
            Err(FileError::Denied(why)) => Err(self.deny(capability, path, Some(why))),
        }
    }

    fn write(&mut self, path: &str, content: &str) -> Result<CapabilityReply, HostTrap> {
        let (root, kind, relative) = self.file_path(Capability::WriteFile, path)?;
        let limits = self.policy.files;
        let size = content.len() as u64;
        let written = if size > limits.max_write_bytes {
            Err(FileError::Failed(format!(
                "{size} bytes is over the write limit of {} bytes",
                limits.max_write_bytes
            )))
        } else if self.written_bytes + size > limits.max_written_bytes {
            Err(FileError::Failed(format!(
                "this invocation may write at most {} bytes in all",
                limits.max_written_bytes
            )))
        } else {
            self.written_bytes += size;
            files::write(&root, kind, &relative, content)
        };
        self.file_result(
            Capability::WriteFile,
            path,
            written,
            CapabilityReply::Written,
        )
    }
}

impl Capabilities for PolicyHost {
    fn call(&mut self, call: CapabilityCall) -> Result<CapabilityReply, HostTrap> {
        match call {
            CapabilityCall::RecallMemory { query, limit } => {
                if !self.policy.grants.is_granted(Capability::RecallMemory) {
                    return Err(self.deny(Capability::RecallMemory, &query, None));
                }
                let (items, warning) = match self.policy.memory.clone() {
                    None => (Vec::new(), None),
                    Some(provider) => {
                        match provider.recall(&self.bot_slug, &self.skill_name, &query, limit) {
                            Ok(mut memories) => {
                                memories.truncate(
                                    limit.min(crate::capabilities::memory::MAX_RECALL) as usize,
                                );
                                (memories, None)
                            }
                            Err(message) => {
                                (Vec::new(), Some(format!("recall-memory failed: {message}")))
                            }
                        }
                    }
                };
                Ok(self.allowed(
                    Capability::RecallMemory,
                    CapabilityReply::Memories { items, warning },
                ))
            }
            CapabilityCall::HttpGet { url } => self.http(Capability::HttpGet, &url, None),
            CapabilityCall::HttpPost { url, body } => {
                self.http(Capability::HttpPost, &url, Some(&body))
            }
            CapabilityCall::HttpExchange { method, url, body } => {
                let capability = match method {
                    Method::Get => Capability::HttpGet,
                    Method::Post => Capability::HttpPost,
                };
                self.exchange(
                    capability,
                    &url,
                    body.as_deref(),
                    true,
                    CapabilityReply::Response,
                )
            }
            CapabilityCall::ReadFile { path } => {
                let (root, kind, relative) = self.file_path(Capability::ReadFile, &path)?;
                let read = files::read(&root, kind, &relative, &self.policy.files);
                self.file_result(Capability::ReadFile, &path, read, CapabilityReply::Text)
            }
            CapabilityCall::WriteFile { path, content } => self.write(&path, &content),
            CapabilityCall::GetSecret { name } => {
                let declared = self.policy.secrets.contains(&name);
                if !(declared && self.policy.grants.allows(Capability::GetSecret, &name)) {
                    return Err(self.deny(Capability::GetSecret, &name, None));
                }
                let value = match self.policy.secret(&name) {
                    Ok(Some(value)) => Ok(value),
                    Ok(None) => Err(format!(
                        "secret `{name}` is not set: the operator stores it in the home's secret store, or sets SKILL_SECRET_{name} for the bot"
                    )),
                    Err(store) => Err(store.to_string()),
                };
                Ok(self.allowed(Capability::GetSecret, CapabilityReply::Text(value)))
            }
            CapabilityCall::ReadEnv { name } => {
                if !self.policy.grants.allows(Capability::ReadEnv, &name) {
                    return Err(self.deny(Capability::ReadEnv, &name, None));
                }
                let value = self
                    .policy
                    .env_var(&name)
                    .ok_or_else(|| format!("`{name}` is not set"));
                Ok(self.allowed(Capability::ReadEnv, CapabilityReply::Text(value)))
            }
        }
    }

    fn take_calls(&mut self) -> Vec<HostCall> {
        self.calls.take()
    }
}
