//! What a request Envoy asks about becomes: the facts of an HTTP call.
//!
//! Both ext_authz services (HTTP and gRPC) describe the request being authorised by its method,
//! host, path and, when Envoy is set to send it (`with_request_body`), its body. That call
//! becomes one `action` document, decided by the agent rules like any tool call:
//!
//! - a JSON-RPC `tools/call` body — an agent calling an MCP server through the proxy — is read
//!   by the action adapter as the MCP call it is (`source: "mcp"`, `tool`: the called tool's
//!   name, `arguments`: its arguments flattened);
//! - another JSON-RPC method (`initialize`, `tools/list`, …) is the tool named by the method,
//!   `/` read as `_` (`tools_list`), with its `params` as arguments (`source: "mcp"`);
//! - any other call — a deploy API, a REST call — is the tool `<method>_http` (`delete_http`,
//!   `post_http`, `get_http`), with the arguments `host`, `path`, `query` (when there is one)
//!   and `body` (the JSON body, or its text), `source: "http"`.
//!
//! So `DELETE https://deploy.prod.example.com/v1/services/payments` is a destructive tool call
//! in production (the host names it), and `POST /v1/deploy {"env": "production"}` a call that
//! is not read-only in production: the shipped agent rules deny the first and hold the second
//! for a person; a `GET` is read-only. `docs/serve.md` shows both.

use serde_json::{Map, Value, json};

/// The request Envoy asks about.
#[derive(Debug, Clone, Copy)]
pub struct HttpCall<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The `Host` (`:authority`) the client asked for.
    pub host: &'a str,
    /// The path, with its query string when there is one.
    pub path: &'a str,
    /// The body, when Envoy sends it (empty otherwise).
    pub body: &'a [u8],
}

/// The facts (`{"action": …}`) of `call`, read with the action adapter's `options`.
pub fn request_facts(
    call: &HttpCall<'_>,
    options: &blastwall_facts::ActionOptions,
) -> Result<Value, String> {
    if call.method.is_empty() {
        return Err("the request has no method".into());
    }
    let body = parse_body(call.body)?;
    let action = match body.as_ref().and_then(jsonrpc_method) {
        Some("tools/call") => {
            let text = std::str::from_utf8(call.body)
                .map_err(|_| "the JSON-RPC body is not UTF-8".to_string())?;
            blastwall_facts::action_from_json(text, options)
                .map_err(|e| format!("the MCP tool call: {e}"))?
        }
        Some(method) => {
            let tool = method.replace('/', "_");
            let params = body
                .as_ref()
                .and_then(|b| b.get("params"))
                .cloned()
                .unwrap_or(Value::Null);
            tool_call("mcp", &tool, &params, options)?
        }
        None => {
            let (path, query) = call.path.split_once('?').unwrap_or((call.path, ""));
            let mut input = Map::new();
            input.insert("host".into(), call.host.into());
            input.insert("path".into(), path.into());
            if !query.is_empty() {
                input.insert("query".into(), query.into());
            }
            match body {
                Some(b) => {
                    input.insert("body".into(), b);
                }
                None if !call.body.is_empty() => {
                    input.insert(
                        "body".into(),
                        String::from_utf8_lossy(call.body).into_owned().into(),
                    );
                }
                None => {}
            }
            let tool = format!("{}_http", call.method.to_ascii_lowercase());
            tool_call("http", &tool, &Value::Object(input), options)?
        }
    };
    Ok(json!({ "action": action }))
}

/// The body as JSON, when it is JSON (`None` for an empty or non-JSON body). A JSON-RPC batch
/// is refused: its calls would have to be decided one by one, and MCP has no batches.
fn parse_body(body: &[u8]) -> Result<Option<Value>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Ok(None);
    };
    if let Value::Array(items) = &value
        && items.iter().any(|i| jsonrpc_method(i).is_some())
    {
        return Err("a JSON-RPC batch is not decided: send one call per request".into());
    }
    Ok(Some(value))
}

/// The method of a JSON-RPC request (`jsonrpc` and a string `method`).
fn jsonrpc_method(v: &Value) -> Option<&str> {
    v.get("jsonrpc")?;
    v.get("method")?.as_str()
}

fn tool_call(
    source: &'static str,
    tool: &str,
    input: &Value,
    options: &blastwall_facts::ActionOptions,
) -> Result<Value, String> {
    blastwall_facts::action_from_tool_call(
        &blastwall_facts::ToolCall {
            source,
            tool,
            input,
            cwd: "",
        },
        options,
    )
    .map_err(|e| format!("the request: {e}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn facts(method: &str, host: &str, path: &str, body: &str) -> Value {
        request_facts(
            &HttpCall {
                method,
                host,
                path,
                body: body.as_bytes(),
            },
            &Default::default(),
        )
        .unwrap()
    }

    #[test]
    fn an_mcp_tool_call_is_the_tool_it_calls() {
        let f = facts(
            "POST",
            "mcp.internal",
            "/mcp",
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"delete_repository","arguments":{"repo":"payments"}}}"#,
        );
        assert_eq!(f["action"]["source"], "mcp");
        assert_eq!(f["action"]["tool"], "delete_repository");
        assert_eq!(f["action"]["arguments"][0]["key"], "repo");
    }

    #[test]
    fn a_deploy_call_is_an_http_tool_call() {
        let f = facts(
            "DELETE",
            "deploy.prod.example.com",
            "/v1/services/payments?force=1",
            "",
        );
        assert_eq!(f["action"]["source"], "http");
        assert_eq!(f["action"]["tool"], "delete_http");
        assert_eq!(f["action"]["env"], "production");
        let keys: Vec<&str> = f["action"]["arguments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["host", "path", "query"]);
    }

    #[test]
    fn a_batch_is_refused() {
        let err = request_facts(
            &HttpCall {
                method: "POST",
                host: "h",
                path: "/",
                body: br#"[{"jsonrpc":"2.0","method":"tools/call","params":{}}]"#,
            },
            &Default::default(),
        )
        .unwrap_err();
        assert!(err.contains("batch"), "{err}");
    }
}
