pub fn format_source(s: &str) -> Result<String, FormatError> {
    Ok(s.to_string())
}
#[derive(Debug, thiserror::Error)]
#[error("placeholder")]
pub struct FormatError;
