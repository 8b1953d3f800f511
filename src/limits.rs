//! GitHub's limits and the service's own input budgets, defined once. The GitHub client,
//! the report renderers and the runner interface all take their bounds from here.

/// GitHub refuses an issue or PR comment body longer than this (characters).
pub const COMMENT_CHARS: usize = 65_536;
/// GitHub refuses a check run's `output.summary` or `output.text` longer than this (characters).
pub const CHECK_OUTPUT_CHARS: usize = 65_535;
/// GitHub takes at most this many annotations per check run request; more go in further updates.
pub const CHECK_ANNOTATIONS_PER_REQUEST: usize = 50;
/// GitHub refuses a commit status description longer than this (characters).
pub const STATUS_DESCRIPTION_CHARS: usize = 140;
/// GitHub Actions refuses a job summary larger than this (bytes, per step).
pub const STEP_SUMMARY_BYTES: usize = 1024 * 1024;
/// A `repository_dispatch` `client_payload` must be smaller than this (bytes).
pub const DISPATCH_PAYLOAD_BYTES: usize = 64 * 1024;
/// ...and have at most this many top-level properties.
pub const DISPATCH_PAYLOAD_PROPERTIES: usize = 10;
/// A `repository_dispatch` `event_type` is 1 to this many characters.
pub const DISPATCH_EVENT_TYPE_CHARS: usize = 100;
/// The largest `inputs` JSON of a provisioning request (`tenants request`).
pub const REQUEST_INPUTS_BYTES: usize = 16 * 1024;
/// Customer files (`infra/variables.yml`) larger than this are refused (bytes).
pub const CUSTOMER_FILE_BYTES: usize = 64 * 1024;
/// The manager's `infra-manager.yml` larger than this is refused (bytes): room for a
/// registry of tens of thousands of customers.
pub const MANAGER_CONFIG_BYTES: usize = 4 * 1024 * 1024;
/// A run record's message is cut to this many characters: it is a one-line summary, and
/// Terraform's error text can carry customer values.
pub const RECORD_MESSAGE_CHARS: usize = 500;
/// Most characters of a run record's outputs (JSON): well inside a DynamoDB item's 400 KB,
/// and enough for a service URL and a few names.
pub const RECORD_OUTPUTS_CHARS: usize = 4_000;
/// GitHub refuses an issue title longer than this (characters); an issue body has the
/// comment limit, [`COMMENT_CHARS`].
pub const ISSUE_TITLE_CHARS: usize = 256;
