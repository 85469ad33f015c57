//! The server's edge on stdio: every line from the client is read here
//! first, within bounds, before the MCP SDK sees it. A client that floods
//! requests without reading answers is paused (stdin is no longer read)
//! once `max_in_flight` requests wait for answers, so memory stays bounded
//! whatever it sends. Lines that are not JSON-RPC get the error codes the
//! specification asks for, which the SDK does not give (rmcp 3.11: no
//! reply at all to unparseable input, and -32601 "method not found" for a
//! known method whose params do not fit).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rmcp::model::{ClientJsonRpcMessage, ClientNotification, ClientRequest, JsonRpcMessage};
use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

/// Bounds on what the client may have the server hold.
#[derive(Debug, Clone, Copy)]
pub struct EdgeLimits {
    /// Requests read and not yet answered; reading pauses at this many.
    pub max_in_flight: usize,
    /// The longest request line; a longer one is answered with an error.
    pub max_request_bytes: usize,
}

impl Default for EdgeLimits {
    /// 16 requests of up to 4 MiB (a 1 MB input fits even when every
    /// character needs escaping): peak memory stays under 256 MiB.
    fn default() -> EdgeLimits {
        EdgeLimits {
            max_in_flight: 16,
            max_request_bytes: 4 << 20,
        }
    }
}

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const INVALID_PARAMS: i64 = -32602;

/// Pipe capacity between the edge and the SDK: enough for a line to pass in
/// a few writes, small beside the in-flight bound.
const INNER_PIPE: usize = 256 << 10;
/// Answers waiting for the client to read them.
const OUTBOX: usize = 8;

/// Requests forwarded and not yet answered, by id: the permit of each
/// keeps a place in the in-flight bound until its answer is written.
type Waiting = Arc<Mutex<HashMap<String, OwnedSemaphorePermit>>>;

/// Starts the edge between `input`/`output` (the client) and the returned
/// stream, which the SDK serves.
pub fn start<R, W>(input: R, output: W, limits: EdgeLimits) -> tokio::io::DuplexStream
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let (edge, sdk) = tokio::io::duplex(INNER_PIPE);
    let (from_sdk, to_sdk) = tokio::io::split(edge);
    let (outbox, letters) = mpsc::channel::<Vec<u8>>(OUTBOX);
    let waiting: Waiting = Arc::default();
    let slots = Arc::new(Semaphore::new(limits.max_in_flight.max(1)));
    tokio::spawn(write_out(letters, output));
    tokio::spawn(answers(from_sdk, outbox.clone(), waiting.clone()));
    tokio::spawn(requests(input, to_sdk, outbox, waiting, slots, limits));
    sdk
}

/// Client → SDK: one line at a time, checked, within the bounds.
async fn requests<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    input: R,
    mut to_sdk: W,
    outbox: mpsc::Sender<Vec<u8>>,
    waiting: Waiting,
    slots: Arc<Semaphore>,
    limits: EdgeLimits,
) {
    let mut input = BufReader::with_capacity(64 << 10, input);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = match read_line(&mut input, &mut line, limits.max_request_bytes).await {
            Ok(read) => read,
            Err(_) => break,
        };
        let forward = match read {
            Line::End => break,
            Line::TooLong(bytes) => Err(error(
                id_in_prefix(&line),
                INVALID_REQUEST,
                format!(
                    "the request is {bytes} bytes, over the server's limit of {}",
                    limits.max_request_bytes
                ),
            )),
            Line::Whole if line.iter().all(u8::is_ascii_whitespace) => continue,
            Line::Whole => check(&line),
        };
        let sent = match forward {
            Err(answer) => outbox.send(answer).await.is_ok(),
            Ok(Kind::Request(id)) => {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    break;
                };
                let duplicate = {
                    let mut waiting = waiting.lock().unwrap_or_else(|e| e.into_inner());
                    match waiting.contains_key(&id) {
                        true => true,
                        false => {
                            waiting.insert(id.clone(), permit);
                            false
                        }
                    }
                };
                if duplicate {
                    let message =
                        format!("request id {id} is already in use by a request not yet answered");
                    let id: Value = serde_json::from_str(&id).unwrap_or(Value::Null);
                    outbox
                        .send(error(id, INVALID_REQUEST, message))
                        .await
                        .is_ok()
                } else {
                    forward_line(&mut to_sdk, &line).await
                }
            }
            Ok(Kind::Cancel(id)) => {
                // A cancelled request gets no answer: its place is free now.
                if let Some(id) = id {
                    waiting
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&id);
                }
                forward_line(&mut to_sdk, &line).await
            }
            Ok(Kind::Other) => forward_line(&mut to_sdk, &line).await,
        };
        if !sent {
            break;
        }
    }
    // The client closed its side: so does the SDK's input, and it ends.
    let _ = to_sdk.shutdown().await;
}

async fn forward_line<W: AsyncWrite + Unpin>(to_sdk: &mut W, line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    to_sdk.write_all(line).await.is_ok() && to_sdk.write_all(b"\n").await.is_ok()
}

/// SDK → client: answers free their request's place once handed on.
async fn answers<R: AsyncRead + Unpin>(
    from_sdk: R,
    outbox: mpsc::Sender<Vec<u8>>,
    waiting: Waiting,
) {
    let mut from_sdk = BufReader::new(from_sdk);
    loop {
        let mut line = Vec::new();
        match from_sdk.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let answered = answered_id(&line);
        if outbox.send(line).await.is_err() {
            break;
        }
        if let Some(id) = answered {
            waiting
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
        }
    }
}

async fn write_out<W: AsyncWrite + Unpin>(mut letters: mpsc::Receiver<Vec<u8>>, mut output: W) {
    while let Some(mut letter) = letters.recv().await {
        if !letter.ends_with(b"\n") {
            letter.push(b'\n');
        }
        if output.write_all(&letter).await.is_err() || output.flush().await.is_err() {
            break;
        }
    }
}

enum Line {
    Whole,
    /// Over the limit: its length; the line holds its first bytes only.
    TooLong(usize),
    End,
}

/// Reads one line into `line`, keeping at most `max` bytes of it; the rest
/// of a longer line is read and dropped, never held.
async fn read_line<R: AsyncBufRead + Unpin>(
    input: &mut R,
    line: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Line> {
    let mut total = 0usize;
    loop {
        let buf = input.fill_buf().await?;
        if buf.is_empty() {
            return Ok(match total {
                0 => Line::End,
                _ if total > max => Line::TooLong(total),
                _ => Line::Whole,
            });
        }
        let (chunk, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let n = chunk.len();
        let room = (max + 1).saturating_sub(line.len());
        line.extend_from_slice(&chunk[..n.min(room)]);
        total += n;
        input.consume(n);
        if done {
            let length = total - 1;
            return Ok(if length > max {
                Line::TooLong(length)
            } else {
                Line::Whole
            });
        }
    }
}

/// What a well-formed line is, for the bounds.
#[derive(Debug, PartialEq)]
enum Kind {
    /// A request, by its id as JSON text.
    Request(String),
    /// `notifications/cancelled`, with the id it cancels.
    Cancel(Option<String>),
    /// A notification or the client's answer to a server request.
    Other,
}

/// The methods the SDK (rmcp 3.11) parses into typed requests; any other
/// method is one it answers with -32601 itself.
fn known_method(method: &str) -> bool {
    use rmcp::model::*;
    [
        PingRequestMethod::VALUE,
        InitializeResultMethod::VALUE,
        DiscoverRequestMethod::VALUE,
        CompleteRequestMethod::VALUE,
        SetLevelRequestMethod::VALUE,
        GetPromptRequestMethod::VALUE,
        ListPromptsRequestMethod::VALUE,
        ListResourcesRequestMethod::VALUE,
        ListResourceTemplatesRequestMethod::VALUE,
        ReadResourceRequestMethod::VALUE,
        SubscriptionsListenRequestMethod::VALUE,
        SubscribeRequestMethod::VALUE,
        UnsubscribeRequestMethod::VALUE,
        CallToolRequestMethod::VALUE,
        ListToolsRequestMethod::VALUE,
        GetTaskMethod::VALUE,
        UpdateTaskMethod::VALUE,
        CancelTaskMethod::VALUE,
        ListSkillsRequestMethod::VALUE,
        GetSkillRequestMethod::VALUE,
        ReadResourceDirectoryRequestMethod::VALUE,
    ]
    .contains(&method)
}

/// Sorts a line into what is forwarded and what is answered here.
fn check(line: &[u8]) -> Result<Kind, Vec<u8>> {
    // The common case costs one parse, with the SDK's own types.
    let parsed = serde_json::from_slice::<ClientJsonRpcMessage>(line);
    match &parsed {
        Ok(JsonRpcMessage::Request(r)) if !matches!(r.request, ClientRequest::CustomRequest(_)) => {
            return Ok(Kind::Request(
                serde_json::to_string(&r.id).expect("an id serializes"),
            ));
        }
        Ok(JsonRpcMessage::Notification(n)) => {
            return Ok(match &n.notification {
                ClientNotification::CancelledNotification(c) => Kind::Cancel(
                    c.params
                        .request_id
                        .as_ref()
                        .map(|id| serde_json::to_string(id).expect("an id serializes")),
                ),
                _ => Kind::Other,
            });
        }
        Ok(JsonRpcMessage::Response(_) | JsonRpcMessage::Error(_)) => return Ok(Kind::Other),
        _ => {}
    }
    // A custom method, or not a message the SDK reads: say what is wrong.
    let value: Value = serde_json::from_slice(line)
        .map_err(|e| error(Value::Null, PARSE_ERROR, format!("not JSON: {e}")))?;
    let Value::Object(object) = &value else {
        return Err(error(
            Value::Null,
            INVALID_REQUEST,
            "a request is one JSON object (batches are not part of MCP)".into(),
        ));
    };
    let id = object.get("id").cloned();
    let invalid = |message: &str| {
        error(
            id.clone().unwrap_or(Value::Null),
            INVALID_REQUEST,
            message.into(),
        )
    };
    if object.get("jsonrpc") != Some(&json!("2.0")) {
        return Err(invalid("\"jsonrpc\" must be \"2.0\""));
    }
    if let Some(id) = &id
        && !(id.is_string() || id.is_i64())
    {
        return Err(invalid("\"id\" must be a string or a 64-bit integer"));
    }
    match (object.get("method"), &id, parsed) {
        (Some(Value::String(method)), Some(id), parsed) if known_method(method) => {
            let why = match parsed {
                Err(e) => e.to_string(),
                Ok(_) => "they do not fit the method".into(),
            };
            Err(error(
                id.clone(),
                INVALID_PARAMS,
                format!("invalid params for {method}: {why}"),
            ))
        }
        // The SDK answers an unknown method it can read with -32601 itself.
        (Some(Value::String(_)), Some(id), Ok(_)) => Ok(Kind::Request(id.to_string())),
        // One it cannot read it would never answer, holding a place forever.
        (Some(Value::String(_)), Some(_), Err(e)) => {
            Err(invalid(&format!("not a request the server can read: {e}")))
        }
        // A notification the SDK cannot read gets no answer, as JSON-RPC says.
        (Some(Value::String(_)), None, _) => Ok(Kind::Other),
        (Some(_), _, _) => Err(invalid("\"method\" must be a string")),
        (None, Some(_), _) if object.contains_key("result") || object.contains_key("error") => {
            Ok(Kind::Other)
        }
        (None, _, _) => Err(invalid("a request needs a \"method\"")),
    }
}

/// The id an answer from the SDK settles, as JSON text.
fn answered_id(line: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        id: Option<Value>,
        method: Option<serde::de::IgnoredAny>,
        result: Option<serde::de::IgnoredAny>,
        error: Option<serde::de::IgnoredAny>,
    }
    let answer: Answer = serde_json::from_slice(line).ok()?;
    match answer {
        Answer {
            id: Some(id),
            method: None,
            ..
        } if answer.result.is_some() || answer.error.is_some() => Some(id.to_string()),
        _ => None,
    }
}

/// The id of an over-long request, when it stands among its first bytes.
fn id_in_prefix(prefix: &[u8]) -> Value {
    let text = String::from_utf8_lossy(prefix);
    let Some(at) = text.find("\"id\"") else {
        return Value::Null;
    };
    let rest = text[at + 4..]
        .trim_start()
        .strip_prefix(':')
        .unwrap_or("")
        .trim_start();
    let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
    match stream.next() {
        Some(Ok(id)) if id.is_string() || id.is_i64() => id,
        _ => Value::Null,
    }
}

fn error(id: Value, code: i64, message: String) -> Vec<u8> {
    let mut line = serde_json::to_vec(&json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": code, "message": message},
    }))
    .expect("an error serializes");
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(answer: Vec<u8>) -> (Value, i64) {
        let v: Value = serde_json::from_slice(&answer).unwrap();
        (v["id"].clone(), v["error"]["code"].as_i64().unwrap())
    }

    #[test]
    fn each_malformed_line_gets_its_code() {
        let bad = |line: &str| code(check(line.as_bytes()).unwrap_err());
        assert_eq!(bad("{not json"), (Value::Null, PARSE_ERROR));
        assert_eq!(bad("[1,2]"), (Value::Null, INVALID_REQUEST));
        assert_eq!(
            bad(r#"{"id":1,"method":"ping"}"#),
            (json!(1), INVALID_REQUEST)
        );
        assert_eq!(
            bad(r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#).1,
            INVALID_REQUEST
        );
        assert_eq!(
            bad(r#"{"jsonrpc":"2.0","id":2,"method":7}"#),
            (json!(2), INVALID_REQUEST)
        );
        assert_eq!(
            bad(r#"{"jsonrpc":"2.0","id":"a"}"#),
            (json!("a"), INVALID_REQUEST)
        );
        // An unknown method the SDK cannot read, an id beyond its integers.
        assert_eq!(
            bad(r#"{"jsonrpc":"2.0","id":6,"method":"no/such","params":"x"}"#),
            (json!(6), INVALID_REQUEST)
        );
        assert_eq!(
            bad(r#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"ping"}"#).1,
            INVALID_REQUEST
        );
        // A known method whose params do not fit.
        assert_eq!(
            bad(
                r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"probe","arguments":"x"}}"#
            ),
            (json!(3), INVALID_PARAMS)
        );
        assert_eq!(
            bad(r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{}}"#),
            (json!(4), INVALID_PARAMS)
        );
        assert_eq!(
            bad(r#"{"jsonrpc":"2.0","id":5,"method":"skills/get","params":{"name":1}}"#),
            (json!(5), INVALID_PARAMS)
        );
    }

    #[test]
    fn well_formed_lines_pass_and_unknown_methods_go_to_the_sdk() {
        let ok = |line: &str| check(line.as_bytes()).unwrap();
        assert_eq!(
            ok(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"p","arguments":{}}}"#
            ),
            Kind::Request("1".into())
        );
        assert_eq!(
            ok(r#"{"jsonrpc":"2.0","id":"x","method":"no/such"}"#),
            Kind::Request("\"x\"".into())
        );
        assert_eq!(
            ok(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7}}"#),
            Kind::Cancel(Some("7".into()))
        );
        assert_eq!(ok(r#"{"jsonrpc":"2.0","id":9,"result":{}}"#), Kind::Other);
        assert_eq!(
            answered_id(br#"{"jsonrpc":"2.0","id":9,"result":{}}"#),
            Some("9".into())
        );
        assert_eq!(
            answered_id(br#"{"jsonrpc":"2.0","id":9,"method":"ping"}"#),
            None
        );
    }

    #[tokio::test]
    async fn a_long_line_is_cut_at_the_limit_and_the_next_one_reads_whole() {
        let text = format!("{{\"id\":42,\"x\":\"{}\"}}\nshort\n", "a".repeat(100));
        let mut input = BufReader::with_capacity(16, text.as_bytes());
        let mut line = Vec::new();
        assert!(
            matches!(read_line(&mut input, &mut line, 50).await.unwrap(), Line::TooLong(n) if n == text.find('\n').unwrap())
        );
        assert!(line.len() <= 51);
        assert_eq!(id_in_prefix(&line), json!(42));
        line.clear();
        assert!(matches!(
            read_line(&mut input, &mut line, 50).await.unwrap(),
            Line::Whole
        ));
        assert_eq!(line, b"short\n");
        line.clear();
        assert!(matches!(
            read_line(&mut input, &mut line, 50).await.unwrap(),
            Line::End
        ));
    }
}
