//! The AWS SDK clients behind the S3 store, and how their errors become [`StoreError`]s.
//!
//! One shared configuration: explicit `BehaviorVersion::latest()`, the region from the
//! settings, the endpoint from the settings or `AWS_ENDPOINT_URL` (path-style addressing
//! then, as S3-compatible stores and moto need), checksums only when an operation requires
//! them, and an HTTPS client on rustls with the ring crypto provider (the only provider in
//! the build).

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use crate::store::StoreError;

use super::S3Settings;

/// The S3 and DynamoDB clients, configured alike.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
}

impl AwsClients {
    /// Builds both clients. `credentials` replaces the default credential chain.
    pub async fn connect(settings: &S3Settings, endpoint: Option<&str>, credentials: Option<Credentials>) -> Self {
        let http_client =
            aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https();
        // A stalled endpoint ends the call with a timeout error naming the operation,
        // never an unbounded wait.
        let attempt = settings.call_timeout;
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(attempt.min(Duration::from_secs(10)))
            .read_timeout(attempt)
            .operation_attempt_timeout(attempt)
            .operation_timeout(attempt * 3)
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client)
            .region(Region::new(settings.region.clone()))
            .timeout_config(timeouts)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(credentials) = credentials {
            loader = loader.credentials_provider(credentials);
        }
        let shared = loader.load().await;

        let s3_config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(settings.force_path_style || endpoint.is_some())
            .build();
        Self { s3: aws_sdk_s3::Client::from_conf(s3_config), dynamodb: aws_sdk_dynamodb::Client::new(&shared) }
    }
}

/// The error code of a service error (`NoSuchKey`, `ConditionalCheckFailedException`, ..).
pub(crate) fn error_code<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> Option<&str> {
    match error {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

/// The HTTP status of a service error's response.
pub(crate) fn http_status<E>(error: &SdkError<E, HttpResponse>) -> Option<u16> {
    match error {
        SdkError::ServiceError(service) => Some(service.raw().status().as_u16()),
        _ => None,
    }
}

/// A failed call as a [`StoreError`]: missing credentials and an unreachable endpoint
/// as such; a service's answer with its code and message; anything else as its error chain
/// in words (never the SDK's `Debug` dump).
pub(crate) fn remote<E, R>(
    service: &'static str,
    operation: &'static str,
    location: impl Into<String>,
    error: SdkError<E, R>,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let location = location.into();
    if sources(&error).any(|e| e.is::<aws_credential_types::provider::error::CredentialsError>()) {
        return StoreError::NoCredentials { service, operation, location };
    }
    let unreachable = match &error {
        SdkError::DispatchFailure(d) => d.is_io() || d.is_timeout(),
        SdkError::TimeoutError(_) => true,
        _ => false,
    };
    if unreachable {
        return StoreError::Unreachable { service, operation, location, message: in_words(&error) };
    }
    let message = match &error {
        SdkError::ServiceError(service_error) => {
            let err = service_error.err();
            match (err.code(), err.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                _ => in_words(&error),
            }
        }
        _ => in_words(&error),
    };
    StoreError::Remote { service, operation, location, message }
}

/// `error` and each of its sources.
fn sources<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |e| e.source())
}

/// The error chain's messages joined by `: `, each once (a level that repeats its source
/// is skipped), on one line.
fn in_words(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in sources(error) {
        let text = e.to_string().split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.is_empty() && !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}
